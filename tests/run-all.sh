#!/bin/bash
# Install the test dependencies, build berth (normal and ASan+UBSan), and run every test:
# unit tests, the bats integration suites, and the cgroup v2 suite in a VM. The last line of
# output is "N passed, N failed, N skipped". Run as root on Debian 12: tests/run-all.sh
#
# Environment: BERTH_TESTS_SKIP_DEPS=1 (don't apt-get), BERTH_TESTS_ONLY="unit bats vm asan"
# (a subset), BERTH_TESTS_BATS="file.bats ..." (some bats files), BERTH_TESTS_JOBS (make -j),
# BERTH_TESTS_SUITE_TIMEOUT (seconds one suite may take, default 1200).
set -uo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$SRC/build/test
ASAN=$SRC/build/asan
JOBS=${BERTH_TESTS_JOBS:-$(nproc)}
ONLY=" ${BERTH_TESTS_ONLY:-unit bats vm asan} "
LOGDIR=$SRC/build/test-logs
passed=0 failed=0 skipped=0
failures=()

say() { printf '\n=== %s\n' "$*"; }
wants() { [[ $ONLY == *" $1 "* ]]; }

die() {
    echo "run-all: $*" >&2
    echo "0 passed, 1 failed"
    exit 1
}

# Count a TAP stream: "ok"/"not ok", "# skip"; a plan with missing results counts as failures.
count_tap() {
    local name=$1 file=$2 status=$3 plan=0 seen=0 line
    while IFS= read -r line; do
        case $line in
        1..*) plan=${line#1..} ;;
        "not ok"*)
            seen=$((seen + 1))
            if [[ ${line,,} == *"# todo"* ]]; then skipped=$((skipped + 1)); else
                failed=$((failed + 1)); failures+=("$name: $line"); fi ;;
        "ok"*)
            seen=$((seen + 1))
            if [[ ${line,,} == *"# skip"* ]]; then skipped=$((skipped + 1)); else passed=$((passed + 1)); fi ;;
        esac
    done <"$file"
    if [ "$seen" -lt "$plan" ]; then
        failed=$((failed + plan - seen))
        failures+=("$name: $((plan - seen)) tests did not report (exit status $status)")
    elif [ "$status" -ne 0 ] && [ "$seen" -eq 0 ]; then
        failed=$((failed + 1))
        failures+=("$name: exited with status $status without results")
    fi
}

# run_tap NAME CMD...: run a TAP-producing command, show its output, count it.
run_tap() {
    local name=$1 log
    shift
    log=$LOGDIR/$(echo "$name" | tr '/ ' '__').tap
    # a watchdog per suite: a hang becomes that suite's failures, not a CI run that times out
    timeout -k 30 "${BERTH_TESTS_SUITE_TIMEOUT:-1200}" "$@" 2>&1 | tee "$log"
    local status=${PIPESTATUS[0]}
    if [ "$status" -eq 124 ]; then
        failed=$((failed + 1))
        failures+=("$name: killed after ${BERTH_TESTS_SUITE_TIMEOUT:-1200} s")
    fi
    count_tap "$name" "$log" "$status"
}

build() { # DIR CONFIGURE-ARGS...
    local dir=$1
    shift
    mkdir -p "$dir"
    # `make check TESTS=` builds the unit test programs without running them (we run them
    # here, so each case is counted)
    (cd "$dir" && { [ -f Makefile ] || "$SRC/configure" "$@"; } && make -j"$JOBS" &&
        make -j"$JOBS" check TESTS=) >"$dir.log" 2>&1 ||
        { tail -50 "$dir.log"; die "build in $dir failed (log: $dir.log)"; }
}

unit_tests() { # BUILD-DIR LABEL
    local t
    for t in "$1"/tests/unit/test-*; do
        [ -x "$t" ] && [ -f "$t" ] || continue
        case $t in *.o | *.log | *.trs) continue ;; esac
        run_tap "$2 $(basename "$t")" "$t"
    done
}

bats_tests() { # BUILD-DIR LABEL
    local dir=$1 files=() f
    if [ -n "${BERTH_TESTS_BATS:-}" ]; then
        for f in $BERTH_TESTS_BATS; do files+=("$SRC/tests/integration/$f"); done
    else
        files=("$SRC"/tests/integration/*.bats)
    fi
    for f in "${files[@]}"; do
        run_tap "$2 $(basename "$f")" env BERTH_BUILD_DIR="$dir" BERTH_BIN="$dir/berth" \
            BERTH_TESTHELPER="$dir/tests/helpers/berth-testhelper" \
            BERTH_CONSOLE_RECEIVER="$dir/tests/helpers/console-receiver" \
            BERTH_ROOTFS_TEMPLATE="$dir/rootfs-template" \
            bats --tap "$f" </dev/null
    done
}

vm_tests() {
    run_tap "vm cgroup-v2" "$SRC/tests/vm/suite.sh" "$BUILD"
    run_tap "vm systemd" "$SRC/tests/vm/systemd-suite.sh" "$BUILD"
}

[ "$(id -u)" -eq 0 ] || die "run as root (containers, cgroups and namespaces need it)"
mkdir -p "$LOGDIR"
if [ -z "${BERTH_TESTS_SKIP_DEPS:-}" ]; then
    say "installing dependencies"
    EXTRA_PACKAGES="${EXTRA_PACKAGES:-} $(cat "$SRC/tests/vm/packages" 2>/dev/null)" \
        bash "$SRC/tests/install-deps.sh" || die "installing dependencies failed"
fi
say "building"
(cd "$SRC" && { [ -x configure ] && [ configure -nt configure.ac ] || ./autogen.sh >/dev/null 2>&1; }) ||
    die "autogen.sh failed"
build "$BUILD" --enable-werror
wants asan && build "$ASAN" --enable-werror --enable-sanitizers

if wants unit; then
    say "unit tests"
    unit_tests "$BUILD" unit
fi
if wants asan; then
    say "unit tests under ASan+UBSan"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 unit_tests "$ASAN" asan
fi
if wants bats; then
    say "integration tests"
    bats_tests "$BUILD" bats
fi
if wants asan; then
    say "integration tests under ASan+UBSan"
    ASAN_OPTIONS=detect_leaks=1 BERTH_SANITIZED=1 bats_tests "$ASAN" asan-bats
fi
if wants vm; then
    say "cgroup v2 tests in a VM"
    vm_tests
fi

if [ ${#failures[@]} -gt 0 ]; then
    say "failures"
    printf '  %s\n' "${failures[@]}"
fi
echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
