# shellcheck shell=bash
# Functions shared by bench/run.sh (on the host) and bench/vm-job.sh (in the cgroup v2 VM).
# Callers set: TAG (cgroup parent name, unique per run), CFG_TEMPLATE (config.json with
# "@CGPATH@" for linux.cgroupsPath and "@ROOTFS@" for root.path), ROOTFS, RAW (output dir).

log() { printf '%s bench: %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# This process's memory cgroup directory: v1 "memory" hierarchy, else the v2 one.
own_mem_cgroup() {
    local p
    p=$(awk -F: '$2 == "memory" { print $3 }' /proc/self/cgroup)
    if [ -n "$p" ] && [ -d "/sys/fs/cgroup/memory$p" ]; then
        echo "/sys/fs/cgroup/memory${p%/}"
        return
    fi
    p=$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup)
    echo "/sys/fs/cgroup${p%/}"
}

# write_config OUT CGPATH [JQ-FILTER]: the template with its cgroupsPath (relative: below our
# own cgroup in every hierarchy) and an optional jq edit.
write_config() {
    local out=$1 cg=$2 filter=${3:-.} t
    mkdir -p "$(dirname "$out")"
    t=${CFG_TEMPLATE//@CGPATH@/$cg}
    t=${t//@ROOTFS@/$ROOTFS}
    if [ "$filter" = . ]; then
        printf '%s\n' "$t" > "$out"
    else
        printf '%s\n' "$t" | jq "$filter" > "$out"
    fi
}

# Memory limit edit for jq: limit and memory+swap both $1 bytes (no swap).
mem_filter() {
    echo ".linux.resources.memory = {\"limit\": $1, \"swap\": $1}"
}

# Peak RSS (KiB) per runtime command, from GNU time -v; RSS_REPS (5) repetitions, median.
# rss_probe LABEL BIN ROOT BUNDLE -> lines "LABEL CMD KiB" on stdout
rss_probe() {
    local label=$1 bin=$2 root=$3 bundle=$4 cmd i v id=rss-$1 reps=${RSS_REPS:-5}
    local -A vals=()
    for ((i = 1; i <= reps; i++)); do
        v=$(rss_of "$bin" --root "$root" run --bundle "$bundle" "$id") || return 1
        vals[run]+="$v "
        v=$(rss_of "$bin" --root "$root" create --bundle "$bundle" "$id") || return 1
        vals[create]+="$v "
        v=$(rss_of "$bin" --root "$root" state "$id") || return 1
        vals[state]+="$v "
        v=$(rss_of "$bin" --root "$root" start "$id") || return 1
        vals[start]+="$v "
        # let /bin/true finish, so delete needs no force
        for _ in $(seq 100); do
            "$bin" --root "$root" state "$id" 2> /dev/null | grep -q '"stopped"' && break
            sleep 0.02
        done
        v=$(rss_of "$bin" --root "$root" delete "$id") || return 1
        vals[delete]+="$v "
        v=$(rss_of "$bin" --root "$root" list) || return 1
        vals[list]+="$v "
    done
    for cmd in run create state start delete list; do
        # shellcheck disable=SC2086
        echo "$label $cmd $(printf '%s\n' ${vals[$cmd]} | sort -n | sed -n "$(((reps + 1) / 2))p")"
    done
}

# The container's process inherits the runtime's stdio, so nothing here may wait for EOF on
# a pipe the runtime had: time -v writes to a file, the command's output goes to files.
rss_of() {
    local t rc=0
    t=$(mktemp)
    /usr/bin/time -v -o "$t" "$@" > /dev/null 2>> "$t.err" || rc=$?
    if [ "$rc" != 0 ]; then
        cat "$t.err" >&2
        rm -f "$t" "$t.err"
        return 1
    fi
    awk -F': ' '/Maximum resident set size/ { print $2 }' "$t"
    rm -f "$t" "$t.err"
}

# Does /bin/true run under a memory limit of $5 bytes? (exit 0 of `run`)
# mem_probe LABEL BIN ROOT DIR BYTES
mem_probe() {
    local label=$1 bin=$2 root=$3 dir=$4 bytes=$5 rc=0
    write_config "$dir/config.json" "$TAG/min-$label" "$(mem_filter "$bytes")"
    timeout 60 "$bin" --root "$root" run --bundle "$dir" "min-$label" > /dev/null 2>> "$RAW/minmem-$label.log" || rc=$?
    echo "$bytes rc=$rc" >> "$RAW/minmem-$label.log"
    if [ "$rc" != 0 ]; then
        "$bin" --root "$root" delete --force "min-$label" > /dev/null 2>&1 || true
    fi
    return "$rc"
}

# The smallest limit (4 KiB steps, 128 KiB..16 MiB) under which /bin/true starts, in KiB;
# "<=128" when 128 KiB works, ">16384" when 16 MiB does not. Doubling from 128 KiB finds
# the range, bisection the limit; the answer must then pass 3 more times.
# min_memory LABEL BIN ROOT DIR
min_memory() {
    local label=$1 bin=$2 root=$3 dir=$4 lo=$((128 * 1024)) hi=0 x mid ok max=$((16 * 1024 * 1024))
    : > "$RAW/minmem-$label.log"
    # On cgroup v1 a page is charged to the cgroup that first faults it into the page cache:
    # two unconstrained runs first, so that the program's pages (busybox) and the runtime's
    # are cached and every probe measures the same thing.
    mem_probe "$label" "$bin" "$root" "$dir" "$max" || true
    mem_probe "$label" "$bin" "$root" "$dir" "$max" || true
    if mem_probe "$label" "$bin" "$root" "$dir" "$lo"; then
        echo "<=128"
        return
    fi
    for ((x = lo * 2; x <= max; x *= 2)); do
        if mem_probe "$label" "$bin" "$root" "$dir" "$x"; then hi=$x; break; fi
        lo=$x
    done
    if [ "$hi" = 0 ]; then
        echo ">16384"
        return
    fi
    # invariant: lo fails, hi works
    while [ $((hi - lo)) -gt 4096 ]; do
        mid=$(((lo + hi) / 2 / 4096 * 4096))
        [ "$mid" -gt "$lo" ] || mid=$((lo + 4096))
        if mem_probe "$label" "$bin" "$root" "$dir" "$mid"; then hi=$mid; else lo=$mid; fi
    done
    # confirm: 3 more successes at hi, else step up
    while [ "$hi" -le "$max" ]; do
        ok=1
        for _ in 1 2 3; do
            mem_probe "$label" "$bin" "$root" "$dir" "$hi" || { ok=0; break; }
        done
        [ "$ok" = 0 ] || break
        hi=$((hi + 4096))
    done
    echo $((hi / 1024))
}

# hyperfine runs one command's runs back to back, then the next one's; on a shared host a
# burst of load would land on one runtime only. So it runs in $ROUNDS rounds, rotating which
# runtime goes first; report.py pools the rounds (OUT.N.json).
# hyperfine_rounds OUT RUNS-PER-ROUND [HYPERFINE-OPTIONS...] -- NAME CMD [NAME CMD...]
hyperfine_rounds() {
    local out=$1 per=$2 round k i n
    shift 2
    local opts=() names=() cmds=() args
    while [ "$1" != -- ]; do opts+=("$1"); shift; done
    shift
    while [ $# -gt 0 ]; do names+=("$1"); cmds+=("$2"); shift 2; done
    n=${#names[@]}
    for ((round = 1; round <= ${ROUNDS:-1}; round++)); do
        args=()
        for ((k = 0; k < n; k++)); do
            i=$(((k + round - 1) % n))
            args+=(-n "${names[$i]}" "${cmds[$i]}")
        done
        hyperfine -N "${opts[@]}" -r "$per" --export-json "$out.$round.json" "${args[@]}"
    done > "$out.txt"
}

# Remove this run's cgroups (deepest first) in every hierarchy.
remove_cgroups() {
    local d
    find /sys/fs/cgroup -depth -type d -name "$TAG" 2> /dev/null | while read -r d; do
        find "$d" -depth -type d -exec rmdir {} \; 2> /dev/null || true
    done
}

leftover_cgroups() {
    find /sys/fs/cgroup -type d -name "$TAG" 2> /dev/null || true
}

# Kill and delete whatever a runtime still has under ROOT.
sweep_runtime() {
    local bin=$1 root=$2 id
    [ -d "$root" ] || return 0
    for id in $("$bin" --root "$root" list -q 2> /dev/null); do
        "$bin" --root "$root" kill "$id" KILL > /dev/null 2>&1 || true
        "$bin" --root "$root" delete --force "$id" > /dev/null 2>&1 || true
    done
}
