#!/usr/bin/env bash
# bench/run.sh: issue 7's benchmarks, one command (as root, from anywhere):
#
#     bench/run.sh [--quick] [--no-vm] [--no-density]
#
# Installs what it needs (Debian packages), builds berth out of tree (normal -O2 build, in
# $BERTH_BENCH_HOME/build, default /var/lib/berth-bench/build), makes one bundle (busybox
# rootfs + the static test helper, ociVersion 1.0.2) and measures berth against runc on this
# host and berth against crun and runc in the cgroup v2 VM (tests/vm/run.sh; ratios only),
# side by side in the same run. Prints a table and writes bench/results/latest.md, PNG plots
# and the raw data (bench/results/raw/, not for committing). See bench/README.md.
#
# Everything it creates is removed on exit (containers, cgroups, the network namespace,
# state dirs, the work dir) and the run fails if a cgroup or netns is left behind.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
src=$(cd "$here/.." && pwd -P)
quick=0
vm=1
density=1
while [ $# -gt 0 ]; do
    case $1 in
        --quick) quick=1 ;;
        --no-vm) vm=0 ;;
        --no-density) density=0 ;;
        -h | --help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench/run.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
[ "$(id -u)" = 0 ] || { echo "bench/run.sh: must run as root" >&2; exit 1; }

# shellcheck source=bench/lib.sh
. "$here/lib.sh"

# Sizes. --quick is for checking the harness itself, not for results.
if [ "$quick" = 1 ]; then
    ROUNDS=2 RUNS=8 ISO_RUNS=4 PROF_N=20 CYCLES=10 FILL_MAX=60 FILL_POINTS=20,40,60 CONC=10 VM_RUNS=4 VM_CYCLES=5 IMAGE_MIB=20
else
    ROUNDS=4 RUNS=25 ISO_RUNS=10 PROF_N=200 CYCLES=50 FILL_MAX=1000 FILL_POINTS=100,500,1000 CONC=100 VM_RUNS=25 VM_CYCLES=40 IMAGE_MIB=100
fi

t_start=$(date +%s)
bench_home=${BERTH_BENCH_HOME:-/var/lib/berth-bench}
build=$bench_home/build
TAG=berth-bench-$$
WORK=$bench_home/run.$$
STATE=/run/$TAG
NETNS=$TAG
RESULTS=$here/results
RAW=$RESULTS/raw
export TAG RAW

# ------------------------------------------------------------------ cleanup
netns_made=0
cleanup() {
    local rc=$? root pid f left
    set +e
    trap - EXIT INT TERM
    # containers the benchmarks left (after a failure): through their runtime, berth's in the
    # netns, where their veths are
    for root in "$STATE"/berth*; do
        [ -d "$root" ] || continue
        if [ "$netns_made" = 1 ]; then
            nsenter --net="/run/netns/$NETNS" bash -c "$(declare -f sweep_runtime); sweep_runtime $build/berth $root"
        else
            sweep_runtime "$build/berth" "$root"
        fi
    done
    for root in "$STATE"/runc*; do
        [ -d "$root" ] || continue
        sweep_runtime runc "$root"
    done
    # processes no runtime knows any more (a runtime lost their state): only our containers'
    # processes are in our cgroups
    for f in $(find /sys/fs/cgroup -path "*/$TAG/*" -name cgroup.procs 2> /dev/null); do
        for pid in $(cat "$f" 2> /dev/null); do
            log "killing $pid, left in ${f%/cgroup.procs}"
            kill -9 "$pid" 2> /dev/null
        done
    done
    if [ "$netns_made" = 1 ]; then
        nsenter --net="/run/netns/$NETNS" "$build/berth" --root "$STATE/berth" network rm bench > /dev/null 2>&1
        ip netns del "$NETNS"
    fi
    sleep 0.2
    remove_cgroups
    rm -rf "$STATE" "$WORK"
    left=$(leftover_cgroups)
    if [ -n "$left" ]; then
        log "LEAK: cgroups left behind:"
        printf '%s\n' "$left" >&2
        rc=1
    fi
    if ip netns list 2> /dev/null | grep -q "^$NETNS\b"; then
        log "LEAK: network namespace $NETNS left behind"
        rc=1
    fi
    if grep -q " $WORK\| $STATE" /proc/self/mountinfo; then
        log "LEAK: mounts left below $WORK or $STATE"
        rc=1
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------- setup
setup_packages() {
    local pkgs=(hyperfine gnuplot-nox time runc crun jq busybox-static iproute2 util-linux procps
        python3 strace qemu-system-x86 linux-image-amd64 cpio bc) missing=() p
    for p in "${pkgs[@]}"; do
        [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2> /dev/null)" = installed ] || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" > /dev/null
    fi
    # berth's own build dependencies
    "$src/tests/install-deps.sh" --build > /dev/null
}

build_berth() {
    log "building berth in $build"
    if [ ! -x "$src/configure" ]; then
        (cd "$src" && ./autogen.sh > /dev/null)
    fi
    if [ -f "$src/config.status" ]; then
        die "$src is configured in-tree; an out-of-tree build needs 'make distclean' there first"
    fi
    mkdir -p "$build"
    if [ ! -f "$build/Makefile" ]; then
        (cd "$build" && "$src/configure" -q)
    fi
    make -C "$build" -s -j"$(nproc)" berth tests/helpers/berth-testhelper > "$build/make.log" 2>&1 ||
        { tail -30 "$build/make.log" >&2; die "build failed (log: $build/make.log)"; }
    mkdir -p "$build/bench"
    gcc -O2 -Wall -Wextra -o "$build/bench/benchtool" "$here/benchtool.c"
    BERTH=$build/berth
    "$BERTH" --version > /dev/null
}

make_bundle() {
    log "making the bundle in $WORK/bundle"
    mkdir -p "$WORK/bundle" "$STATE"
    ROOTFS=$WORK/bundle/rootfs
    "$src/contrib/busybox-bundle.sh" "$WORK/bundle" "$BERTH" > /dev/null
    cp "$build/tests/helpers/berth-testhelper" "$ROOTFS/bin/berth-testhelper"
    # berth's default spec (pid, mount, network, uts, ipc, cgroup namespaces; readonly root):
    # only what every runtime needs to run it unattended is changed.
    rm -f "$WORK/bundle/config.json"
    "$BERTH" spec --bundle "$WORK/bundle"
    jq '.ociVersion = "1.0.2" | .process.terminal = false | .process.args = ["/bin/true"]
        | .root.path = "@ROOTFS@" | .linux.cgroupsPath = "@CGPATH@"' \
        "$WORK/bundle/config.json" > "$WORK/bundle/config.template.json"
    CFG_TEMPLATE=$(cat "$WORK/bundle/config.template.json")
    export ROOTFS CFG_TEMPLATE
}

# One bundle directory per scenario and runtime: the same rootfs and config, its own
# relative cgroupsPath ($TAG/NAME below our own cgroup).
scenario() { # NAME [JQ-FILTER] -> prints the bundle dir
    write_config "$WORK/b/$1/config.json" "$TAG/$1" "${2:-.}"
    echo "$WORK/b/$1"
}

# ----------------------------------------------------------------- measures
host_run() {
    log "host: run /bin/true (hyperfine, $ROUNDS rounds of $RUNS runs each)"
    local bb rb mb mr
    bb=$(scenario run-berth)
    rb=$(scenario run-runc)
    hyperfine_rounds "$RAW/host-run" "$RUNS" -w 5 -- \
        berth "$BERTH --root $STATE/berth run --bundle $bb r1" \
        runc "runc --root $STATE/runc run --bundle $rb r1"
    # the same, each start isolated from the previous one by 100 ms (see the notes on the
    # cgroup v1 migration cost in latest.md)
    hyperfine_rounds "$RAW/host-run-isolated" "$ISO_RUNS" -w 1 --prepare "sleep 0.1" -- \
        berth "$BERTH --root $STATE/berth run --bundle $bb r1" \
        runc "runc --root $STATE/runc run --bundle $rb r1"
    mb=$(scenario runmem-berth "$(mem_filter $((64 << 20)))")
    mr=$(scenario runmem-runc "$(mem_filter $((64 << 20)))")
    hyperfine_rounds "$RAW/host-run-mem" "$((RUNS / 2))" -w 3 -- \
        berth "$BERTH --root $STATE/berth run --bundle $mb r2" \
        runc "runc --root $STATE/runc run --bundle $mr r2"
}

host_cycle() {
    local memcg
    memcg=$(own_mem_cgroup)
    log "host: create+start+wait+delete ($CYCLES cycles each, interleaved)"
    "$build/bench/benchtool" cycle -n "$CYCLES" -w 3 -o "$RAW/host-cycle.tsv" \
        -- berth "$STATE/berth" "$(scenario cyc-berth)" "$memcg/$TAG/cyc-berth" "$BERTH" \
        -- runc "$STATE/runc" "$(scenario cyc-runc)" "$memcg/$TAG/cyc-runc" runc
    log "host: the same with a 64 MiB memory limit"
    local f
    f=$(mem_filter $((64 << 20)))
    "$build/bench/benchtool" cycle -n "$CYCLES" -w 3 -o "$RAW/host-cycle-mem.tsv" \
        -- berth "$STATE/berth" "$(scenario cycm-berth "$f")" "$memcg/$TAG/cycm-berth" "$BERTH" \
        -- runc "$STATE/runc" "$(scenario cycm-runc "$f")" "$memcg/$TAG/cycm-runc" runc
}

setup_netns() {
    ip netns add "$NETNS"
    netns_made=1
    ip -n "$NETNS" link set lo up
    nsenter --net="/run/netns/$NETNS" "$BERTH" --root "$STATE/berth" network create bench \
        --subnet 10.213.0.0/20 > /dev/null
}

host_cycle_net() {
    local memcg
    memcg=$(own_mem_cgroup)
    log "host: cycle with bridge networking (berth --network, in netns $NETNS)"
    nsenter --net="/run/netns/$NETNS" "$build/bench/benchtool" cycle -n "$CYCLES" -w 3 \
        -o "$RAW/host-cycle-net.tsv" \
        -- berth-net "$STATE/berth" "$(scenario cycn-berth-net)" "$memcg/$TAG/cycn-berth-net" \
        "$BERTH" --network bench \
        -- berth "$STATE/berth" "$(scenario cycn-berth)" "$memcg/$TAG/cycn-berth" "$BERTH"
}

host_memory() {
    log "host: peak RSS of the runtimes' processes (/usr/bin/time -v)"
    {
        rss_probe berth "$BERTH" "$STATE/berth" "$(scenario rss-berth)"
        rss_probe runc runc "$STATE/runc" "$(scenario rss-runc)"
    } > "$RAW/host-rss.txt"
    log "host: smallest memory limit /bin/true starts under (bisection)"
    {
        echo "berth $(min_memory berth "$BERTH" "$STATE/berth" "$WORK/b/min-berth")"
        echo "runc $(min_memory runc runc "$STATE/runc" "$WORK/b/min-runc")"
    } > "$RAW/host-minmem.txt"
}

# Per-container bundles for fill/conc: DIR/i/config.json, cgroup $TAG/LABEL/i.
many_bundles() { # LABEL COUNT JQ-FILTER
    local label=$1 n=$2 filter=$3 i t
    t=${CFG_TEMPLATE//@ROOTFS@/$ROOTFS}
    t=$(printf '%s\n' "$t" | jq -c "$filter")
    for ((i = 0; i <= n; i++)); do
        mkdir -p "$WORK/m/$label/$i"
        printf '%s\n' "${t//@CGPATH@/$TAG/$label/$i}" > "$WORK/m/$label/$i/config.json"
    done
    echo "$WORK/m/$label/%d"
}

host_density() {
    local memcg f
    memcg=$(own_mem_cgroup)
    f='.process.args = ["/bin/berth-testhelper", "sleep", "inf"]
       | .linux.resources.memory = {"limit": 67108864, "swap": 67108864}
       | .linux.resources.pids = {"limit": 64}'
    log "host: density, $FILL_MAX sleeping containers each (memory + pids limits)"
    "$build/bench/benchtool" fill -N "$FILL_MAX" -c "$FILL_POINTS" -o "$RAW/fill-berth" \
        -P "$memcg/$TAG/fberth" -- berth "$STATE/berth" "$(many_bundles fberth "$FILL_MAX" "$f")" "$BERTH"
    rm -rf "$WORK/m"
    "$build/bench/benchtool" fill -N "$FILL_MAX" -c "$FILL_POINTS" -o "$RAW/fill-runc" \
        -P "$memcg/$TAG/frunc" -- runc "$STATE/runc" "$(many_bundles frunc "$FILL_MAX" "$f")" runc
    rm -rf "$WORK/m"
    log "host: density with a veth each (berth --network, netns $NETNS)"
    nsenter --net="/run/netns/$NETNS" "$build/bench/benchtool" fill -N "$FILL_MAX" -c "$FILL_POINTS" \
        -o "$RAW/fill-berth-net" -P "$memcg/$TAG/fberthnet" \
        -- berth-net "$STATE/berth" "$(many_bundles fberthnet "$FILL_MAX" "$f")" "$BERTH" --network bench
    rm -rf "$WORK/m"
    # no leak: no veth, lease or cgroup left
    local veths leases cgs
    veths=$(ip -n "$NETNS" -o link show type veth | wc -l)
    leases=$(wc -l < "$STATE/berth/.networks/leases" 2> /dev/null || echo 0)
    cgs=$(find /sys/fs/cgroup -path "*/$TAG/f*/*" -type d 2> /dev/null | wc -l)
    echo "veths $veths leases $leases cgroups $cgs" > "$RAW/fill-leaks.txt"
    [ "$veths$leases$cgs" = 000 ] || die "leak after density: $(cat "$RAW/fill-leaks.txt")"
}

host_conc() {
    local f='.process.args = ["/bin/true"]'
    log "host: two concurrent creators, one root ($CONC each)"
    # a runtime that loses containers here is a finding, not a harness failure
    "$build/bench/benchtool" conc -M "$CONC" -o "$RAW/conc-berth.tsv" \
        -- berth "$STATE/berth-conc" "$(many_bundles cberth $((2 * CONC)) "$f")" "$BERTH" \
        2> "$RAW/conc-berth.err" || log "berth: concurrent creators: FAILED ($(head -1 "$RAW/conc-berth.err"))"
    "$build/bench/benchtool" conc -M "$CONC" -o "$RAW/conc-runc.tsv" \
        -- runc "$STATE/runc-conc" "$(many_bundles crunc $((2 * CONC)) "$f")" runc \
        2> "$RAW/conc-runc.err" || log "runc: concurrent creators: FAILED ($(head -1 "$RAW/conc-runc.err"))"
    rm -rf "$WORK/m"
}

# Evidence for where berth's time goes (report.py renders it): the dynamic loader's share
# of every invocation, slow syscalls on the start path, syscalls per container of `list`
# and of `create --network` with containers already there.
host_profile() {
    local p=$RAW/profile i id
    log "host: profile (ldd, perf stat, perf trace, strace -c)"
    ldd "$BERTH" | awk '{ print $1 }' | grep -v '^linux-vdso' > "$p-libs.txt"
    {
        for b in "$BERTH" runc; do
            echo "$b $(perf stat -x, -e task-clock -r 50 "$b" --version 2>&1 > /dev/null | awk -F, '/task-clock/ { print $1 }') $(rss_of "$b" --version)"
        done
        echo "true $(perf stat -x, -e task-clock -r 50 /bin/true 2>&1 > /dev/null | awk -F, '/task-clock/ { print $1 }') $(rss_of /bin/true)"
    } > "$p-startup.txt"
    LD_DEBUG=statistics "$BERTH" --version 2>&1 > /dev/null | sed 's/^ *[0-9]*: *//' > "$p-ldstats.txt"
    # slow syscalls (> 0.3 ms) of 8 runs, 150 ms apart (so each pays what an isolated start pays)
    local pb
    pb=$(scenario prof-run)
    : > "$p-trace.txt"
    for i in 1 2 3 4 5 6 7 8; do
        sleep 0.15
        perf trace --duration 0.3 -- "$BERTH" --root "$STATE/berth" run --bundle "$pb" pr 2>&1 |
            sed -E 's/^ *[0-9.]+ \( *([0-9.]+) ms\): ([^/]+)\/[0-9]+ ([a-z0-9_]+)\((.*)$/\1 \2 \3 \4/' |
            awk -v run="$i" '{ print run, $0 }' >> "$p-trace.txt"
    done
    strace -f -c -o "$p-strace-run.txt" "$BERTH" --root "$STATE/berth" run --bundle "$pb" pr > /dev/null
    # list and create --network with PROF_N containers present (net, in our netns)
    local n=$PROF_N f
    f='.process.args = ["/bin/berth-testhelper", "sleep", "inf"]'
    local tmpl
    tmpl=$(many_bundles pnet $((n + 1)) "$f")
    # detached containers are reparented to benchtool (a subreaper), which reaps them
    nsenter --net="/run/netns/$NETNS" "$build/bench/benchtool" reap -- bash -c '
        b=$1 root=$2 tmpl=$3 n=$4 p=$5
        for ((i = 1; i <= n; i++)); do
            "$b" --root "$root" run -d --network bench --bundle "${tmpl//%d/$i}" "p$i" > /dev/null || exit 1
        done
        strace -c -o "$p-strace-list.txt" "$b" --root "$root" list > /dev/null
        strace -o "$p-strace-netcreate.txt" "$b" --root "$root" create --network bench \
            --bundle "${tmpl//%d/0}" p0 > /dev/null
        for id in $("$b" --root "$root" list -q); do
            "$b" --root "$root" delete --force "$id" > /dev/null || exit 1
        done' _ "$BERTH" "$STATE/berth" "$tmpl" "$n" "$p"
    echo "$n" > "$p-n.txt"
    rm -rf "$WORK/m"
}

host_images() {
    log "host: image import against tar -x, run --image against a bundle (bench/images.sh)"
    make -C "$build" -s images/default-image.tar >> "$build/make.log" 2>&1 ||
        die "building the default image failed (log: $build/make.log)"
    "$here/images.sh" "$BERTH" "$IMAGE_MIB" 4 > "$RAW/images.txt"
}

run_vm() {
    log "VM (cgroup v2, TCG): berth vs crun vs runc"
    mkdir -p "$WORK/vm"
    local rc=0
    (cd "$src" && tests/vm/run.sh --timeout 1500 --share "$WORK/vm" \
        --env "VM_RUNS=$VM_RUNS" --env "VM_CYCLES=$VM_CYCLES" --env "ROUNDS=$ROUNDS" \
        "$here/vm-job.sh" "$build" "$WORK/bundle" "$WORK/vm") || rc=$?
    cp -a "$WORK/vm/." "$RAW/"
    [ "$rc" = 0 ] || die "the VM job failed (exit $rc)"
}

# -------------------------------------------------------------------- main
setup_packages
build_berth
rm -rf "$RAW"
mkdir -p "$RAW" "$WORK"
make_bundle
{
    echo "date $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "commit $(git -C "$src" rev-parse --short HEAD 2> /dev/null || echo unknown)"
    echo "dirty $(git -C "$src" status --porcelain 2> /dev/null | wc -l)"
    echo "kernel $(uname -r)"
    echo "cpus $(nproc)"
    echo "cpu $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "cgroup $(if [ -f /sys/fs/cgroup/cgroup.controllers ]; then echo unified; elif [ -d /sys/fs/cgroup/unified ]; then echo hybrid; else echo legacy; fi)"
    echo "berth $("$BERTH" --version | head -1)"
    echo "runc $(runc --version | head -1)"
    echo "crun $(crun --version | head -1)"
    echo "hyperfine $(hyperfine --version)"
    echo "load_start $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "quick $quick"
    echo "images_mib $IMAGE_MIB"
    echo "images_layers 4"
} > "$RAW/meta.txt"

host_run
host_cycle
setup_netns
host_cycle_net
host_memory
[ "$density" = 0 ] || host_density
host_conc
host_images
host_profile
[ "$vm" = 0 ] || run_vm
echo "load_end $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RAW/meta.txt"
echo "seconds $(($(date +%s) - t_start))" >> "$RAW/meta.txt"
python3 "$here/report.py" "$RAW" "$RESULTS"
