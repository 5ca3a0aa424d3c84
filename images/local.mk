# images/: image store, layers, bundle generation (issue 5).
# libarchive reads and writes tars (gzip, zstd, xz): loaded with dlopen on first use
# (images/archive_api.h), so only its headers are needed at build time. libcrypto hashes.
AM_CFLAGS += $(LIBARCHIVE_CFLAGS)
AM_CPPFLAGS += -DBERTH_PKGDATADIR='"$(pkgdatadir)"'
libberth_a_SOURCES += \
	images/archive_api.c images/archive_api.h \
	images/images.h \
	images/internal.h \
	images/digest.c images/digest.h \
	images/imgstore.c images/store.h \
	images/unpack.c images/unpack.h \
	images/import.c \
	images/manage.c \
	images/imgconfig.c images/imgconfig.h \
	images/bundle.c images/bundle.h
berth_SOURCES += cli/cmd_image.c cli/cmd_run_image.c

# The built-in default image: Debian's busybox-static and the static berth-testhelper as an
# OCI layout tar, made reproducibly (fixed mtimes, owners and order) by images/mkdefault.sh.
# berth finds it next to itself (images/default-image.tar) or in $(pkgdatadir).
BUSYBOX_STATIC ?= /bin/busybox
images/default-image.tar: $(srcdir)/images/mkdefault.sh tests/helpers/berth-testhelper
	$(AM_V_GEN)$(MKDIR_P) images && \
	  $(SHELL) $(srcdir)/images/mkdefault.sh $@ $(BUSYBOX_STATIC) tests/helpers/berth-testhelper
pkgdata_DATA = images/default-image.tar
CLEANFILES += images/default-image.tar
EXTRA_DIST += images/mkdefault.sh docs/images.md
