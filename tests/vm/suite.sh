#!/usr/bin/env bash
# The pure cgroup v2 half of berth's cgroup tests (issue 3): boots the VM of tests/vm/run.sh
# and runs tests/integration/cgroups.bats in it with the berth, berth-testhelper and bats of
# the host (the host's / is the guest's root). The file is mode-aware; in the VM its
# "cgroups v2:" tests (io.max, memory.high via unified, CLONE_INTO_CGROUP, ...) run too.
#
#   tests/vm/suite.sh BUILD_DIR        as root; BUILD_DIR holds a built berth
#
# Prints TAP (one plan, bats' ok / not ok lines, guest facts as "# " comments) and exits 0
# only if every test passed. If the VM cannot run the suite, a single "not ok" says why.
# Environment: BERTH_VM_SUITE_FILTER (a bats -f regex), BERTH_VM_SUITE_TIMEOUT (seconds for
# the whole VM run, default 900), BERTH_VM_SUITE_BATS (bats files, default cgroups.bats).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
src=$(cd "$here/../.." && pwd -P)

# ------------------------------------------------------------------------- in the guest
guest() {
    local build=$1 template=$2 f files=() filter=()
    echo "# guest: kernel $(uname -r), $(nproc) cpus, cgroup $(stat -f -c %T /sys/fs/cgroup)," \
        "controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
    # Huge pages for the hugetlb tests (the VM's own memory, nobody else's).
    if [ -w /proc/sys/vm/nr_hugepages ]; then
        echo 8 >/proc/sys/vm/nr_hugepages 2>/dev/null || true
    fi
    echo "# guest: free 2 MB huge pages: $(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo none)"
    # A ram disk for io.max (brd: no backing file, bio-based, honours O_DIRECT).
    if [ ! -b /dev/ram0 ]; then
        modprobe brd rd_nr=1 rd_size=65536 2>&1 | sed 's/^/# guest: modprobe brd: /'
    fi
    if [ -b /dev/ram0 ]; then
        echo "# guest: /dev/ram0 ($(stat -c '%t:%T' /dev/ram0)) for io.max"
    else
        echo "# guest: no /dev/ram0: the io.max test will say so"
    fi

    for f in ${BERTH_VM_SUITE_BATS:-cgroups.bats}; do
        files+=("$src/tests/integration/$f")
    done
    [ -z "${BERTH_VM_SUITE_FILTER:-}" ] || filter=(-f "$BERTH_VM_SUITE_FILTER")
    # The rootfs template the host built, copied once into the guest's tmpfs: the tests' hard
    # link copies of it then stay within one filesystem (building it here under emulation
    # takes over a minute).
    if [ -x "$template/bin/berth-testhelper" ] && cp -a "$template" /tmp/rootfs-template; then
        export BERTH_ROOTFS_TEMPLATE=/tmp/rootfs-template
    fi
    # Everything bats writes goes to the guest's /tmp; the build directory is read-only here.
    export BERTH_BUILD_DIR=$build BERTH_BIN=$build/berth
    export BERTH_TESTHELPER=$build/tests/helpers/berth-testhelper
    export BERTH_CONSOLE_RECEIVER=$build/tests/helpers/console-receiver
    export TMPDIR=/tmp
    cd /tmp || exit 1
    exec bats --tap --timing "${filter[@]}" "${files[@]}" </dev/null
}

if [ "${1:-}" = --guest ]; then
    shift
    [ "${BERTH_VM:-}" = 1 ] || {
        echo "$0 --guest runs inside the VM only" >&2
        exit 2
    }
    guest "$@"
    exit
fi

# -------------------------------------------------------------------------- on the host
usage_fail() {
    echo "1..1"
    echo "not ok 1 - cgroup v2 VM suite: $*"
    exit 1
}

[ $# -eq 1 ] || usage_fail "usage: tests/vm/suite.sh BUILD_DIR"
build=$(cd "$1" 2>/dev/null && pwd -P) || usage_fail "no build directory $1"
for f in berth tests/helpers/berth-testhelper; do
    [ -x "$build/$f" ] || usage_fail "$build/$f is missing: build berth first (make)"
done
[ "$(id -u)" = 0 ] || usage_fail "must run as root (tests/vm/run.sh needs it)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The rootfs template, built here (seconds) rather than in the emulated guest (a minute).
template=$tmp/rootfs-template
if ! "$src/tests/helpers/make-rootfs.sh" "$template" "$build/tests/helpers/berth-testhelper" >"$tmp/template.log" 2>&1; then
    echo "# make-rootfs.sh failed on the host, the guest builds its own template:"
    sed 's/^/#   /' "$tmp/template.log"
fi

t0=$SECONDS
rc=0
# The guest's output streams as it comes; a copy tells afterwards whether a plan was printed.
"$here/run.sh" --timeout "${BERTH_VM_SUITE_TIMEOUT:-900}" --share "$tmp" \
    ${BERTH_VM_SUITE_FILTER:+--env "BERTH_VM_SUITE_FILTER=$BERTH_VM_SUITE_FILTER"} \
    ${BERTH_VM_SUITE_BATS:+--env "BERTH_VM_SUITE_BATS=$BERTH_VM_SUITE_BATS"} \
    "$here/suite.sh" --guest "$build" "$template" 2>"$tmp/err" | tee "$tmp/tap"
rc=${PIPESTATUS[0]}
elapsed=$((SECONDS - t0))

if ! grep -q '^1\.\.' "$tmp/tap"; then
    # Nothing ran: say why, as a failed test so that a summary counts it.
    echo "1..1"
    case $rc in
    124) echo "not ok 1 - cgroup v2 VM suite: the VM timed out after ${BERTH_VM_SUITE_TIMEOUT:-900} s before bats started" ;;
    125) echo "not ok 1 - cgroup v2 VM suite: the VM could not be started (tests/vm/run.sh exit 125)" ;;
    *) echo "not ok 1 - cgroup v2 VM suite: bats did not start in the VM (exit $rc)" ;;
    esac
    sed 's/^/# /' "$tmp/err"
    exit 1
fi
if [ -s "$tmp/err" ]; then
    sed 's/^/# stderr: /' "$tmp/err"
fi
[ "$rc" != 124 ] || echo "# the VM timed out after ${BERTH_VM_SUITE_TIMEOUT:-900} s; tests without a result did not run"
echo "# cgroup v2 VM suite: ${elapsed} s, exit $rc"
exit "$rc"
