# cgroup/: one driver interface (cgroup.h), v2 and v1 drivers behind it.
libberth_a_SOURCES += \
	cgroup/cgroup.h \
	cgroup/internal.h \
	cgroup/cgroup.c \
	cgroup/convert.c \
	cgroup/resources.c \
	cgroup/devices_bpf.c \
	cgroup/stats.c \
	cgroup/state.c \
	cgroup/mount.c
