# cgroup/: one driver interface (cgroup.h), v2 and v1 drivers behind it.
libberth_a_SOURCES += \
	cgroup/cgroup.h \
	cgroup/cgroup.c
