berth_SOURCES += \
	cli/main.c
