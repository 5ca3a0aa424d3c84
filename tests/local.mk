# Unit tests (TAP). Integration tests (bats) live in tests/integration and are run by tests/run-all.sh.
UNIT_LDADD = libberth.a $(BERTH_LIBS)
