# runtime/: spec model, state, spawn, namespaces, rootfs, process security.
# Spec parser (spec.h)
libberth_a_SOURCES += \
	runtime/spec.h runtime/spec_internal.h \
	runtime/spec.c \
	runtime/spec_resources.c \
	runtime/spec_names.c \
	runtime/mount_options.c \
	runtime/spec_default.c
# seccomp (seccomp.h)
libberth_a_SOURCES += runtime/seccomp.h runtime/seccomp.c
# lifecycle core
libberth_a_SOURCES += \
	runtime/container.h runtime/container.c runtime/container_ops.c \
	runtime/container_resources.c runtime/container_exec.c \
	runtime/foreground.h runtime/foreground.c \
	runtime/state.h runtime/state.c \
	runtime/init.h runtime/init.c runtime/sync.c \
	runtime/namespaces.c runtime/rootfs.c runtime/devices.c \
	runtime/security.c runtime/terminal.c runtime/hooks.c runtime/exec.c \
	runtime/features.h runtime/features.c
nodist_libberth_a_SOURCES = runtime/exec-stub-data.c

# The exec stub is freestanding and static; it must not get the project's (sanitizer) flags.
STUB_CFLAGS = -Os -static -nostdlib -fno-stack-protector -fno-pie -no-pie \
	-fno-asynchronous-unwind-tables -fno-builtin -fcf-protection=none \
	-Wl,--build-id=none -Wl,-z,norelro -Wl,-z,noseparate-code -s
runtime/exec-stub: $(srcdir)/runtime/exec-stub.c
	$(AM_V_CC)$(MKDIR_P) runtime && $(CC) $(STUB_CFLAGS) -o $@ $<
runtime/exec-stub-data.c: runtime/exec-stub
	$(AM_V_GEN)( echo '/* generated from runtime/exec-stub.c */'; \
	  echo 'const unsigned char berth_exec_stub[] = {'; \
	  od -An -v -tx1 $< | sed 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '};'; \
	  echo "const unsigned int berth_exec_stub_size = sizeof(berth_exec_stub);" ) > $@
BUILT_SOURCES += runtime/exec-stub-data.c
CLEANFILES += runtime/exec-stub runtime/exec-stub-data.c
EXTRA_DIST += runtime/exec-stub.c
