# runtime/: spec model, state, spawn, namespaces, rootfs, process security.
# Spec parser (spec.h)
libberth_a_SOURCES += \
	runtime/spec.h \
	runtime/spec.c \
	runtime/spec_resources.c \
	runtime/spec_names.c \
	runtime/mount_options.c \
	runtime/spec_default.c
# seccomp (seccomp.h)
libberth_a_SOURCES += runtime/seccomp.h runtime/seccomp.c
# lifecycle core
libberth_a_SOURCES += \
	runtime/container.h runtime/container.c
