#!/usr/bin/env bash
# The part of bench/run.sh that runs inside the cgroup v2 VM (tests/vm/run.sh): berth, crun
# and runc side by side on the same bundle. TCG inflates absolute times: only the ratios
# between runtimes mean anything; memory figures are not inflated.
#     vm-job.sh BUILD-DIR BUNDLE-DIR OUT-DIR      (env: VM_RUNS, VM_CYCLES)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
build=$1 bundle=$2 out=$3
runs=${VM_RUNS:-40} cycles=${VM_CYCLES:-30}

# shellcheck source=bench/lib.sh
. "$here/lib.sh"
TAG=berth-bench-vm
RAW=$out
STATE=/run/$TAG
WORK=/tmp/$TAG
BERTH=$build/berth
tool=$build/bench/benchtool

cleanup() {
    local rc=$?
    set +e
    sweep_runtime "$BERTH" "$STATE/berth"
    sweep_runtime crun "$STATE/crun"
    sweep_runtime runc "$STATE/runc"
    remove_cgroups
    rm -rf "$STATE" "$WORK"
    exit "$rc"
}
trap cleanup EXIT

# The bundle lives in the guest's tmpfs, not on the 9p share.
mkdir -p "$WORK" "$STATE"
cp -a "$bundle/rootfs" "$WORK/rootfs"
ROOTFS=$WORK/rootfs
CFG_TEMPLATE=$(cat "$bundle/config.template.json")
scenario() {
    write_config "$WORK/b/$1/config.json" "$TAG/$1" "${2:-.}"
    echo "$WORK/b/$1"
}
memcg=$(own_mem_cgroup)
{
    echo "vm_kernel $(uname -r)"
    echo "vm_cgroup $([ -f /sys/fs/cgroup/cgroup.controllers ] && echo unified || echo other)"
} > "$RAW/vm-meta.txt"

log "vm: run /bin/true (hyperfine, ${ROUNDS:-1} rounds of $runs runs each)"
hyperfine_rounds "$RAW/vm-run" "$runs" -w 2 -- \
    berth "$BERTH --root $STATE/berth run --bundle $(scenario run-berth) r1" \
    crun "crun --root $STATE/crun run --bundle $(scenario run-crun) r1" \
    runc "runc --root $STATE/runc run --bundle $(scenario run-runc) r1"

log "vm: create+start+wait+delete ($cycles cycles each, interleaved)"
"$tool" cycle -n "$cycles" -w 2 -o "$RAW/vm-cycle.tsv" \
    -- berth "$STATE/berth" "$(scenario cyc-berth)" "$memcg/$TAG/cyc-berth" "$BERTH" \
    -- crun "$STATE/crun" "$(scenario cyc-crun)" "$memcg/$TAG/cyc-crun" crun \
    -- runc "$STATE/runc" "$(scenario cyc-runc)" "$memcg/$TAG/cyc-runc" runc

log "vm: the same with a 64 MiB memory limit"
f=$(mem_filter $((64 << 20)))
"$tool" cycle -n $((cycles / 3 + 1)) -w 1 -o "$RAW/vm-cycle-mem.tsv" \
    -- berth "$STATE/berth" "$(scenario cycm-berth "$f")" "$memcg/$TAG/cycm-berth" "$BERTH" \
    -- crun "$STATE/crun" "$(scenario cycm-crun "$f")" "$memcg/$TAG/cycm-crun" crun \
    -- runc "$STATE/runc" "$(scenario cycm-runc "$f")" "$memcg/$TAG/cycm-runc" runc

# runc's RSS and smallest limit are measured on the host; here berth and crun, to save time.
log "vm: peak RSS of berth's and crun's processes (/usr/bin/time -v)"
{
    RSS_REPS=3 rss_probe berth "$BERTH" "$STATE/berth" "$(scenario rss-berth)"
    RSS_REPS=3 rss_probe crun crun "$STATE/crun" "$(scenario rss-crun)"
} > "$RAW/vm-rss.txt"

log "vm: smallest memory limit /bin/true starts under, berth and crun (bisection)"
{
    echo "berth $(min_memory berth "$BERTH" "$STATE/berth" "$WORK/b/min-berth")"
    echo "crun $(min_memory crun crun "$STATE/crun" "$WORK/b/min-crun")"
} > "$RAW/vm-minmem.txt"
for f in "$RAW"/minmem-*.log; do
    [ -e "$f" ] && mv "$f" "$RAW/vm-${f##*/}"
done

left=$(leftover_cgroups)
remove_cgroups
left=$(leftover_cgroups)
[ -z "$left" ] || { log "LEAK in the VM: $left"; exit 1; }
log "vm: done"
