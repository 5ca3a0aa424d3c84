berth_SOURCES += \
	cli/cli.h \
	cli/main.c \
	cli/cmd_lifecycle.c \
	cli/cmd_info.c \
	cli/cmd_resources.c \
	cli/cmd_exec.c \
	cli/cmd_network.c
