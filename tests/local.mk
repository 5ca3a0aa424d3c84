# Unit tests (TAP). Integration tests (bats) live in tests/integration and are run by tests/run-all.sh.
UNIT_LDADD = libberth.a $(BERTH_LIBS)
# `make check` runs every program listed in TESTS; add yours with TESTS +=
TESTS =
check_PROGRAMS += tests/unit/test-seccomp
tests_unit_test_seccomp_LDADD = $(UNIT_LDADD)
# OCI config parser (runtime/spec*.c, lib/json*.c)
check_PROGRAMS += tests/unit/test-json tests/unit/test-spec tests/unit/test-mount-options
TESTS += tests/unit/test-json tests/unit/test-spec tests/unit/test-mount-options
SPEC_TEST_CPPFLAGS = $(AM_CPPFLAGS) -DUNIT_DATADIR='"$(abs_top_srcdir)/tests/unit/data"'
tests_unit_test_json_LDADD = $(UNIT_LDADD)
tests_unit_test_spec_LDADD = $(UNIT_LDADD)
tests_unit_test_spec_CPPFLAGS = $(SPEC_TEST_CPPFLAGS)
tests_unit_test_mount_options_LDADD = $(UNIT_LDADD)
EXTRA_DIST += tests/unit/data/config-full.json tests/unit/data/default-spec.json

# Test tools (tests/helpers). berth-testhelper runs inside containers whose rootfs holds only
# busybox, so it is static. It gets its own flags instead of AM_CFLAGS/AM_LDFLAGS because the
# sanitizer runtimes cannot be linked statically: --enable-sanitizers must not reach it.
TESTHELPER_CFLAGS = -std=gnu11 -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes \
	-Wmissing-prototypes -Wno-unused-parameter -Wno-missing-field-initializers \
	$(filter -Werror,$(BERTH_CFLAGS))
noinst_PROGRAMS += tests/helpers/berth-testhelper tests/helpers/console-receiver
tests_helpers_berth_testhelper_SOURCES = tests/helpers/berth-testhelper.c
tests_helpers_berth_testhelper_CPPFLAGS = -I$(top_srcdir) -D_GNU_SOURCE
tests_helpers_berth_testhelper_CFLAGS = $(TESTHELPER_CFLAGS)
tests_helpers_berth_testhelper_LDFLAGS = -static
tests_helpers_berth_testhelper_LDADD =
tests_helpers_console_receiver_SOURCES = tests/helpers/console-receiver.c
EXTRA_DIST += \
	tests/install-deps.sh \
	tests/helpers/make-rootfs.sh \
	tests/integration/helpers.bash \
	tests/integration/testhelper.bats

# cgroup driver (cgroup/): pure conversions and fake hierarchies; the live test needs root and
# creates real cgroups below the caller's own (it skips, exit 77, when not root)
check_PROGRAMS += tests/unit/test-cgroup tests/unit/test-cgroup-live
TESTS += tests/unit/test-cgroup tests/unit/test-cgroup-live
tests_unit_test_cgroup_LDADD = $(UNIT_LDADD) -lm
tests_unit_test_cgroup_live_LDADD = $(UNIT_LDADD)

# container networking (netns/): netlink message building and parsing, IPAM, CIDR, ports,
# rates, leases; pure, no privileges needed
check_PROGRAMS += tests/unit/test-netlink tests/unit/test-netcfg
TESTS += tests/unit/test-netlink tests/unit/test-netcfg
tests_unit_test_netlink_LDADD = $(UNIT_LDADD)
tests_unit_test_netcfg_LDADD = $(UNIT_LDADD)
EXTRA_DIST += tests/integration/network.bats

# images/ (test-images.c): digests, names, path confinement, whiteouts, users, image config
check_PROGRAMS += tests/unit/test-images
TESTS += tests/unit/test-images
tests_unit_test_images_LDADD = $(UNIT_LDADD)
EXTRA_DIST += \
	tests/images/oci.py \
	tests/integration/image.bats \
	tests/integration/image-hostile.bats
