#!/usr/bin/env bats
# cgroup limits (issue 3), proved by their effect rather than by the files written: OOM kills
# and `events`, fork bombs against pids.limit, CPU quota measured from the host, live
# `update`, pause/resume, ps, kill --all, errors for what the host cannot enforce, the
# device filter, cgroupsPath placement and cleanup.
#
# Mode-aware: the same file runs on this hybrid host (v1 controllers plus a cgroup2 mount
# with only hugetlb) and on a pure cgroup v2 host (tests/vm/suite.sh boots one). Measured
# numbers are printed as TAP comments ("# cpu: ...").
#
# Host rules: containers go below the caller's own cgroup (no cgroupsPath, or a relative
# one); the one absolute path used is derived from /proc/self/cgroup so that it stays below
# our own memory cgroup. On a v1/hybrid host nothing here writes a cgroup file outside the
# containers' own cgroups (one v2-only test makes a cgroup of its own, in the VM). Fork bombs
# run under a pids limit, and the host's fork+exec latency is measured while they do.

load helpers
bats_require_minimum_version 1.5.0

setup() {
    # (before the bundle is made: skipping costs nothing then)
    if [[ $BATS_TEST_DESCRIPTION == "cgroups v2:"* ]]; then
        require_unified
    fi
    berth_setup
    cd "$BERTH_BUNDLE" || return 1
    T=$BATS_TEST_TMPDIR
    BG_PIDS=()
}

teardown() {
    local p
    for p in "${BG_PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    berth_teardown
}

MiB=1048576

# ---------------------------------------------------------------------------------------------
# The host's cgroup layout

# The hierarchies, read once per test with bash builtins only: in the emulated VM of
# tests/vm/suite.sh every process started costs a tenth of a second or more.
# CG_V1_MOUNT[controller] = mountpoint of the v1 hierarchy carrying it; CG_V2_MOUNT = the
# cgroup2 mountpoint (empty if none).
declare -gA CG_V1_MOUNT=()
CG_V2_MOUNT=""
cg_read_mounts() {
    local line f i fstype o
    while IFS= read -r line; do
        read -r -a f <<<"$line"
        for ((i = 6; i < ${#f[@]}; i++)); do
            [ "${f[i]}" != - ] || break
        done
        fstype=${f[i + 1]:-}
        if [ "$fstype" = cgroup2 ] && [ -z "$CG_V2_MOUNT" ]; then
            CG_V2_MOUNT=${f[4]}
        elif [ "$fstype" = cgroup ]; then
            IFS=, read -r -a o <<<"${f[i + 3]}"
            for i in "${o[@]}"; do
                CG_V1_MOUNT[$i]=${f[4]}
            done
        fi
    done </proc/self/mountinfo
}
cg_read_mounts

# unified (cgroup v2 only), hybrid (v1 controllers + a cgroup2 mount) or legacy (v1 only)
if [ "$CG_V2_MOUNT" = /sys/fs/cgroup ]; then
    CG_MODE=unified
elif [ -n "$CG_V2_MOUNT" ]; then
    CG_MODE=hybrid
else
    CG_MODE=legacy
fi
# The word berth's messages use for the mode (cgroup_mode_name) is the same.
CG_MODE_WORD=$CG_MODE

# cg_v1_mount CTRL: mountpoint of the v1 hierarchy that carries CTRL (empty if none).
cg_v1_mount() {
    echo "${CG_V1_MOUNT[$1]:-}"
}

# cg_is_v2 CTRL: CTRL is handled on the cgroup2 hierarchy (no v1 hierarchy carries it).
cg_is_v2() {
    [ -z "${CG_V1_MOUNT[$1]:-}" ]
}

# cg_dir CTRL PID: the directory of PID's cgroup in the hierarchy that carries CTRL (the
# cgroup2 one when no v1 hierarchy does; CTRL "unified" always means cgroup2).
cg_dir() {
    local ctrl=$1 pid=$2 m="" path="" num ctrls p o c
    [ "$ctrl" = unified ] || m=${CG_V1_MOUNT[$ctrl]:-}
    while IFS=: read -r num ctrls p; do
        if [ -z "$m" ]; then
            [ "$num" != 0 ] || [ -n "$ctrls" ] || path=$p
        else
            IFS=, read -r -a o <<<"$ctrls"
            for c in "${o[@]}"; do
                [ "$c" != "$ctrl" ] || path=$p
            done
        fi
    done <"/proc/$pid/cgroup"
    [ -n "$m" ] || m=$CG_V2_MOUNT
    [ -n "$m" ] && [ -n "$path" ] || {
        echo "cg_dir: no $ctrl cgroup for pid $pid" >&2
        return 1
    }
    printf '%s%s\n' "$m" "${path%/}"
}

# The file names of each setting in the hierarchy that holds it.
mem_limit_file() { if cg_is_v2 memory; then echo memory.max; else echo memory.limit_in_bytes; fi; }
mem_usage_file() { if cg_is_v2 memory; then echo memory.current; else echo memory.usage_in_bytes; fi; }

# cpu_acct_dir PID / cg_cpu_ns DIR: the cgroup directory that accounts PID's CPU time
# (cpuacct on v1, else cgroup2, where cpu.stat exists without the cpu controller), and the
# cumulative CPU time in ns of such a directory.
cpu_acct_dir() {
    if cg_is_v2 cpuacct; then cg_dir unified "$1"; else cg_dir cpuacct "$1"; fi
}
cg_cpu_ns() {
    if [ -e "$1/cpuacct.usage" ]; then
        cat "$1/cpuacct.usage"
    else
        # usec -> ns as text: mawk's printf %d stops at 2^31-1
        awk '$1 == "usage_usec" { print $2 "000" }' "$1/cpu.stat"
    fi
}

# cpu_pct ACCTDIR [SECONDS=2]: percent of one CPU the cgroup used over SECONDS (wall clock,
# measured from the host).
cpu_pct() {
    local dir=$1 secs=${2:-2} a b t0 t1
    a=$(cg_cpu_ns "$dir")
    t0=$EPOCHREALTIME
    sleep "$secs"
    b=$(cg_cpu_ns "$dir")
    t1=$EPOCHREALTIME
    awk -v a="$a" -v b="$b" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.1f\n", (b - a) / 1e9 / (t1 - t0) * 100 }'
}

# cpu_pct_upto ACCTDIR LOW: cpu_pct, measured again (up to 3 times) while below LOW, printing
# the highest: a quota is a ceiling, and other load on the host can hold a loop below it for
# a while. The highest reading is also the one that shows a quota not holding.
cpu_pct_upto() {
    local best=-1 p i
    for i in 1 2 3; do
        p=$(cpu_pct "$1" 2)
        best=$(awk -v a="$best" -v b="$p" 'BEGIN { print (b > a ? b : a) }')
        ! in_band "$p" "$2" 1000 || break
    done
    echo "$best"
}

# in_band VALUE LOW HIGH (decimals allowed)
in_band() {
    awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v >= lo && v <= hi) }'
}

# note TEXT: a measured number, shown in the TAP output.
note() {
    echo "# $*" >&3
}

# configure FILTER [JQ-OPTION...] -- ARG...: update_config FILTER and set_args ARG... in one
# jq run (each costs half a second in the emulated VM).
configure() {
    local filter=$1 opts=() args="" i=0 a
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        opts+=("$1")
        shift
    done
    shift
    for a in "$@"; do
        args+="${args:+, }\$a$i"
        opts+=(--arg "a$i" "$a")
        i=$((i + 1))
    done
    update_config "($filter) | .process.args = [$args]" "${opts[@]}"
}

# A container that waits for the test to create /go in its rootfs, then runs "$@" (a shell
# command line) and keeps its init alive.
gated() {
    configure '.root.readonly = false' -- sh -c "while [ ! -e /go ]; do sleep 0.02; done; $*"
}

# create_started ID [OUTFILE]: create and start ID with its output in OUTFILE (default
# $T/out); sets PID to the container's init.
create_started() {
    local id=$1 out=${2:-$T/out}
    berth create --pid-file "$T/$id.pid" "$id" >"$out" 2>&1
    read -r PID <"$T/$id.pid" || [ -n "$PID" ]
    berth start "$id"
}

# created ID [OUTFILE]: create ID only; sets PID. (--pid-file: a jq run costs half a
# second in the emulated VM)
created() {
    local id=$1 out=${2:-$T/out}
    berth create --pid-file "$T/$id.pid" "$id" >"$out" 2>&1
    read -r PID <"$T/$id.pid" || [ -n "$PID" ]
}

# status_of ID: the container's status, without jq
status_of() {
    local s
    s=$(berth state "$1") || return 1
    [[ $s =~ \"status\":\ *\"([a-z]+)\" ]] && echo "${BASH_REMATCH[1]}"
}

# background CMD...: run CMD in the background, killed by teardown at the latest. `berth`
# becomes the binary itself, so that the pid killed is berth's and not a subshell's.
background() {
    if [ "$1" = berth ]; then
        shift
        set -- "$BERTH" --root "$BERTH_ROOT" "$@"
    fi
    "$@" 3>&- &
    BG_PIDS+=($!)
}

# try_create ID: `berth create ID` that may fail, with status, stderr and output (= stderr)
# set as `run` would; the container's own output goes to $T/create.out (a `run` would wait for
# the container to close its stdout).
try_create() {
    status=0 PID=""
    berth create --pid-file "$T/$1.pid" "$1" >"$T/create.out" 2>"$T/create.err" </dev/null || status=$?
    [ ! -s "$T/$1.pid" ] || read -r PID <"$T/$1.pid" || [ -n "$PID" ]
    stderr=$(cat "$T/create.err")
    output=$stderr
}

# stats ID: `events --stats` output (one JSON object)
stats() {
    berth events --stats "$1"
}

# assert_refused MESSAGE-PART... : the last `run` failed and its output has every part.
assert_refused() {
    local part
    [ "$status" -ne 0 ] || {
        echo "expected a failure, got status 0: $output" >&2
        return 1
    }
    for part in "$@"; do
        [[ $output == *"$part"* ]] || {
            echo "expected \"$part\" in: $output" >&2
            return 1
        }
    done
}

# Conditions for retry (which evaluates its arguments once: a "$(...)" there would not be
# read again).
has_lines() { # FILE PATTERN N: at least N lines match
    [ "$(grep -c -- "$2" "$1")" -ge "$3" ]
}
number_at_least() { # FILE N
    [ "$(cat "$1" 2>/dev/null || echo 0)" -ge "$2" ]
}
has_children() { # PID N
    [ "$(pgrep -P "$1" | wc -l)" -eq "$2" ]
}

# no_cgroup_named NAME: nothing below /sys/fs/cgroup has this name.
no_cgroup_named() {
    local left
    # (find fails when a cgroup of someone else vanishes under it: only its output counts)
    left=$(find /sys/fs/cgroup -mindepth 1 -type d -name "$1" 2>/dev/null || true)
    [ -z "$left" ] || {
        echo "cgroups left behind: $left" >&2
        return 1
    }
}

# ---------------------------------------------------------------------------------------------
# memory

@test "cgroups: memory: past a 32 MiB limit the allocator is OOM-killed and events streams {\"type\":\"oom\"}" {
    update_config '.linux.resources.memory = {limit: 33554432}'
    gated "$TESTHELPER alloc 64; echo alloc exit \$?; exec sleep 1000"
    id=$(container_id)
    create_started "$id"
    mdir=$(cg_dir memory "$PID")
    [ "$(cat "$mdir/$(mem_limit_file)")" = 33554432 ]

    background berth events --interval 1s "$id" >"$T/events" 2>"$T/events.err"
    wait_for_file "$T/events" '"type":"stats"' 10
    touch "$ROOTFS/go"
    wait_for_file "$T/out" 'alloc exit' 20
    run cat "$T/out"
    # SIGKILL by the OOM killer: the shell reports 128 + 9.
    [[ $output == *"alloc exit 137"* ]]
    got=$(grep -c '^allocated' "$T/out")
    note "memory: allocated $got MiB of 64 before the OOM kill (limit 32 MiB)"
    [ "$got" -ge 16 ] && [ "$got" -lt 32 ]
    # The container itself lives on: only the allocator was killed.
    [ "$(status_of "$id")" = running ]

    wait_for_file "$T/events" '"type":"oom"' 10
    # Stats lines keep coming (every 1 s) and are well-formed; the oom event names the
    # container.
    retry 30 0.1 has_lines "$T/events" '"type":"stats"' 2
    read -r oomid statsok < <(jq -rs '[(map(select(.type == "oom")) | .[0].id),
        (map(select(.type == "stats")) | all(.id and .data.memory.usage))] | @tsv' "$T/events")
    [ "$oomid" = "$id" ]
    [ "$statsok" = true ]

    run --separate-stderr stats "$id"
    [ "$status" -eq 0 ]
    read -r type sid limit usage max failcnt < <(jq -r '[.type, .id, .data.memory.usage.limit,
        .data.memory.usage.usage, .data.memory.usage.max, .data.memory.usage.failcnt] | @tsv' <<<"$output")
    [ "$type" = stats ]
    [ "$sid" = "$id" ]
    [ "$limit" = 33554432 ]
    note "memory: events --stats usage $usage, max $max, failcnt $failcnt, limit 33554432"
    [ "$usage" -gt 0 ] && [ "$usage" -lt 33554432 ]
    # The allocator reached the limit before it was killed.
    [ "$max" -ge $((28 * MiB)) ] && [ "$max" -le 33554432 ]
    [ "$failcnt" -gt 0 ]

    # The stream ends, successfully, when the container stops.
    epid=${BG_PIDS[0]}
    berth kill "$id" KILL
    retry 100 0.1 pid_gone "$epid"
    estatus=0
    wait "$epid" || estatus=$?
    [ "$estatus" = 0 ] || {
        echo "events exited $estatus when the container stopped: $(cat "$T/events.err")" >&2
        false
    }
}

@test "cgroups: memory: events --stats counts the OOM kill (oom_kill)" {
    configure '.linux.resources.memory = {limit: 33554432}' -- sh -c "$TESTHELPER alloc 64; echo alloc exit \$?; exec sleep 1000"
    id=$(container_id)
    create_started "$id"
    wait_for_file "$T/out" 'alloc exit 137' 20
    # What the kernel counted (v1 memory.oom_control, v2 memory.events).
    mdir=$(cg_dir memory "$PID")
    if cg_is_v2 memory; then
        kernel=$(awk '$1 == "oom_kill" { print $2 }' "$mdir/memory.events")
    else
        kernel=$(awk '$1 == "oom_kill" { print $2 }' "$mdir/memory.oom_control")
    fi
    [ "$kernel" -ge 1 ]
    run --separate-stderr stats "$id"
    [ "$status" -eq 0 ]
    # runc reports memory.events counters under data.memory (event_count.oom_kill in
    # current runc); accept an "oom_kill" key anywhere under data.memory.
    got=$(jq '[.data.memory | .. | objects | to_entries[] | select(.key == "oom_kill") | .value] | max // "none"' <<<"$output")
    note "memory: kernel oom_kill $kernel, events --stats oom_kill $got"
    [ "$got" = "$kernel" ] || {
        echo "events --stats has no oom_kill count under data.memory (kernel says $kernel): $(jq -c .data.memory.usage <<<"$output")" >&2
        false
    }
}

@test "cgroups: memory: limit 524288 (512 KiB) still runs /bin/true" {
    configure '.linux.resources.memory = {limit: 524288}' -- /bin/true
    id=$(container_id)
    created "$id"
    pid=$PID
    [ "$(cat "$(cg_dir memory "$pid")/$(mem_limit_file)")" = 524288 ]
    berth delete --force "$id"

    run berth run "$(container_id 2)"
    [ "$status" -eq 0 ] || {
        echo "berth run /bin/true under 512 KiB: status $status: $output" >&2
        false
    }
    # ... and the limit is real: 4 MiB do not fit.
    set_args "$TESTHELPER" alloc 4
    run berth run "$(container_id 3)"
    [ "$status" -eq 137 ]
}

# ---------------------------------------------------------------------------------------------
# pids

# The slowest fork+exec of /bin/true the host may show during a fork bomb. In the emulated
# VM of tests/vm/suite.sh a fork+exec costs 10 times more to begin with.
if [ "${BERTH_VM:-}" = 1 ]; then
    RESPONSIVE_MS=3000
else
    RESPONSIVE_MS=1000
fi

# nap_open / nap / nap_close: a 10 ms pause without a fork (read -t on a fifo nobody
# writes), so that sampling loops do not add forks of their own to the ones measured.
nap_open() {
    mkfifo "$T/nap"
    exec {NAP}<>"$T/nap"
}
nap() {
    read -r -t 0.01 -u "$NAP" _ || true
}
nap_close() {
    exec {NAP}>&-
}

# file_has FILE PREFIX: a line of FILE starts with PREFIX (builtins only)
file_has() {
    local l
    while IFS= read -r l; do
        [[ $l != "$2"* ]] || return 0
    done <"$1"
    return 1
}

# fork_exec_ms: how long the host takes to fork and exec /bin/true
fork_exec_ms() {
    local t0 t1
    t0=$EPOCHREALTIME
    /bin/true
    t1=$EPOCHREALTIME
    echo $(((${t1/./} - ${t0/./}) / 1000))
}

@test "cgroups: pids: a fork bomb stops at pids.limit 64, the count never exceeds it, the host stays responsive" {
    update_config '.linux.resources.pids = {limit: 64}'
    # sh (1) + the helper (1) + at most 62 children
    set_args sh -c "$TESTHELPER forkbomb 3 4096; exec sleep 1000"
    id=$(container_id)
    created "$id"
    pid=$PID
    pdir=$(cg_dir pids "$pid")
    [ "$(cat "$pdir/pids.max")" = 64 ]
    nap_open
    berth start "$id"
    maxp=0 worst=0 samples=0 forked=0
    while ! file_has "$T/out" failures: && [ "$samples" -lt 3000 ]; do
        read -r c <"$pdir/pids.current" || break
        [ "$c" -le "$maxp" ] || maxp=$c
        # The host forks and execs, quickly, while the bomb goes on.
        if [ $((samples % 10)) = 0 ]; then
            dt=$(fork_exec_ms)
            [ "$dt" -le "$worst" ] || worst=$dt
            forked=$((forked + 1))
        fi
        samples=$((samples + 1))
        nap
    done
    nap_close
    wait_for_file "$T/out" '^failures:' 10
    forks=$(awk '$1 == "forks:" { print $2 }' "$T/out")
    first=$(awk '$1 == "first_error:" { print $2 }' "$T/out")
    failures=$(awk '$1 == "failures:" { print $2 }' "$T/out")
    peak=$(cat "$pdir/pids.peak" 2>/dev/null || echo n/a)
    note "pids: limit 64: forks $forks (first error $first, $failures failed forks); pids.current at most $maxp in $samples samples, pids.peak $peak; slowest of $forked host fork+exec ${worst} ms"
    [ "$forks" -le 62 ] && [ "$forks" -ge 48 ]
    [ "$first" = EAGAIN ]
    [ "$failures" -gt 0 ]
    [ "$maxp" -le 64 ] && [ "$maxp" -ge 32 ]
    [ "$peak" = n/a ] || [ "$peak" -le 64 ]
    [ "$worst" -lt "$RESPONSIVE_MS" ]
    [ "$(awk '$1 == "max" { print $2 }' "$pdir/pids.events")" -gt 0 ]
    run --separate-stderr stats "$id"
    [ "$(jq -r .data.pids.limit <<<"$output")" = 64 ]
    [ "$(jq -r .data.pids.current <<<"$output")" -le 64 ]
    # 20 fork+exec on the host in a row, right after, are quick as well.
    t0=$SECONDS
    timeout 60 bash -c 'for i in $(seq 20); do /bin/true; done'
    [ $((SECONDS - t0)) -le $((RESPONSIVE_MS / 100)) ]
}

@test "cgroups: pids: a shell fork bomb is held at 64 and delete --force ends it" {
    configure '.linux.resources.pids = {limit: 64}' -- sh -c 'b() { b | b & }; b; exec sleep 1000'
    id=$(container_id)
    created "$id" /dev/null
    pid=$PID
    pdir=$(cg_dir pids "$pid")
    nap_open
    berth start "$id"
    maxp=0 worst=0 samples=0
    end=$((${EPOCHREALTIME/./} + 2000000))
    while [ "${EPOCHREALTIME/./}" -lt "$end" ]; do
        read -r c <"$pdir/pids.current"
        [ "$c" -le "$maxp" ] || maxp=$c
        if [ $((samples % 10)) = 0 ]; then
            dt=$(fork_exec_ms)
            [ "$dt" -le "$worst" ] || worst=$dt
        fi
        samples=$((samples + 1))
        nap
    done
    nap_close
    peak=$(cat "$pdir/pids.peak" 2>/dev/null || echo n/a)
    t0=$EPOCHREALTIME
    berth delete --force "$id"
    t1=$EPOCHREALTIME
    del=$(((${t1/./} - ${t0/./}) / 1000))
    note "pids: shell fork bomb: pids.current at most $maxp in $samples samples, pids.peak $peak (limit 64); slowest host fork+exec ${worst} ms; delete --force took ${del} ms"
    [ "$maxp" -le 64 ] && [ "$maxp" -ge 48 ]
    [ "$peak" = n/a ] || [ "$peak" -le 64 ]
    [ "$worst" -lt "$RESPONSIVE_MS" ]
    [ "$del" -lt 10000 ]
    assert_nothing_left
}

# ---------------------------------------------------------------------------------------------
# cpu

@test "cgroups: cpu: quota 20000/100000 holds a busy loop to about 20% of a CPU" {
    configure '.linux.resources.cpu = {quota: 20000, period: 100000}' -- "$TESTHELPER" spin 3600
    id=$(container_id)
    create_started "$id"
    acct=$(cpu_acct_dir "$PID")
    sleep 0.3
    ticks0=$(awk '{ sub(/.*\) /, ""); split($0, f, " "); print f[12] + f[13] }' "/proc/$PID/stat")
    t0=$EPOCHREALTIME
    pct=$(cpu_pct_upto "$acct" 15)
    ticks1=$(awk '{ sub(/.*\) /, ""); split($0, f, " "); print f[12] + f[13] }' "/proc/$PID/stat")
    t1=$EPOCHREALTIME
    hz=$(getconf CLK_TCK)
    ppct=$(awk -v a="$ticks0" -v b="$ticks1" -v hz="$hz" -v t0="$t0" -v t1="$t1" \
        'BEGIN { printf "%.1f\n", (b - a) / hz / (t1 - t0) * 100 }')
    run --separate-stderr stats "$id"
    throttled=$(jq -r '.data.cpu.throttling.throttledPeriods // 0' <<<"$output")
    note "cpu: quota 20000/100000: ${pct}% of a CPU over 2 s (cgroup accounting), ${ppct}% (/proc/$PID/stat); throttled periods $throttled"
    in_band "$pct" 15 25
    in_band "$ppct" 10 30
    [ "$throttled" -gt 0 ]
}

# ---------------------------------------------------------------------------------------------
# update

@test "cgroups: update: raising memory lets an allocation succeed; lowering below usage with checkBeforeUpdate is refused" {
    configure '.linux.resources.memory = {limit: 33554432}' -- sleep 1000
    id=$(container_id)
    create_started "$id"
    mdir=$(cg_dir memory "$PID")
    lim=$(mem_limit_file)
    use=$(mem_usage_file)

    run berth exec "$id" "$TESTHELPER" alloc 48
    [ "$status" -eq 137 ]
    [[ $output != *"allocated 48 MiB"* ]]

    berth update --memory 96M "$id"
    [ "$(cat "$mdir/$lim")" = $((96 * MiB)) ]
    berth exec -d --pid-file "$T/alloc.pid" "$id" "$TESTHELPER" alloc 48 >"$T/alloc.out" 2>&1
    wait_for_file "$T/alloc.out" 'allocated 48 MiB' 20
    apid=$(cat "$T/alloc.pid")
    usage=$(cat "$mdir/$use")
    note "update: 48 MiB allocated after raising the limit to 96 MiB (usage $usage)"
    [ "$usage" -ge $((48 * MiB)) ]

    run berth update --resources - "$id" <<<'{"memory": {"limit": 33554432, "checkBeforeUpdate": true}}'
    assert_refused memory.limit checkBeforeUpdate
    [ "$(cat "$mdir/$lim")" = $((96 * MiB)) ]
    ! pid_gone "$apid"

    kill -KILL "$apid"
    retry 50 0.1 pid_gone "$apid"
    berth update --resources - "$id" <<<'{"memory": {"limit": 33554432, "checkBeforeUpdate": true}}'
    [ "$(cat "$mdir/$lim")" = 33554432 ]
    run berth exec "$id" "$TESTHELPER" alloc 48
    [ "$status" -eq 137 ]
}

# forks_in ID MAX: how many children a fork bomb exec'd in the container managed.
forks_in() {
    berth exec "$1" "$TESTHELPER" forkbomb 1 "$2" | awk '$1 == "forks:" { print $2 }'
}

@test "cgroups: update: pids.limit raised and lowered on a live container" {
    configure '.linux.resources.pids = {limit: 10}' -- sleep 1000
    id=$(container_id)
    create_started "$id"
    pdir=$(cg_dir pids "$PID")
    a=$(forks_in "$id" 200)
    berth update --pids-limit 40 "$id"
    [ "$(cat "$pdir/pids.max")" = 40 ]
    b=$(forks_in "$id" 200)
    berth update --pids-limit 5 "$id"
    [ "$(cat "$pdir/pids.max")" = 5 ]
    c=$(forks_in "$id" 200)
    note "update: forks under pids.limit 10: $a; raised to 40: $b; lowered to 5: $c"
    [ "$a" -le 8 ] && [ "$a" -ge 4 ]
    [ "$b" -le 38 ] && [ "$b" -ge 30 ]
    [ "$c" -le 3 ]
    berth update --pids-limit -1 "$id"
    [ "$(cat "$pdir/pids.max")" = max ]
}

@test "cgroups: update: cpu quota raised, period alone keeps the quota, lowered; each measured" {
    configure '.linux.resources.cpu = {quota: 20000, period: 100000}' -- "$TESTHELPER" spin 3600
    id=$(container_id)
    create_started "$id"
    acct=$(cpu_acct_dir "$PID")
    sleep 0.3
    p20=$(cpu_pct_upto "$acct" 12)
    berth update --cpu-quota 50000 "$id"
    p50=$(cpu_pct_upto "$acct" 30)
    # Only the period changes: the quota of 50000 must stay, so 50000/200000 = 25%.
    berth update --cpu-period 200000 "$id"
    p25=$(cpu_pct_upto "$acct" 15)
    berth update --cpu-quota 10000 "$id"
    p5=$(cpu_pct_upto "$acct" 3)
    note "update: cpu 20000/100000 ${p20}%, 50000/100000 ${p50}%, 50000/200000 ${p25}%, 10000/200000 ${p5}%"
    # Each quota is a ceiling that holds (+5 points of measuring noise). From below, other
    # load (or an emulated CPU's late timers) can keep the loop short of it, so the floor is
    # 60% of the quota: still far from the other settings, so each change shows.
    in_band "$p20" 12 25
    in_band "$p50" 30 55
    in_band "$p25" 15 30
    in_band "$p5" 3 10
    cdir=$(cg_dir cpu "$PID")
    if cg_is_v2 cpu; then
        [ "$(cat "$cdir/cpu.max")" = "10000 200000" ]
    else
        [ "$(cat "$cdir/cpu.cfs_quota_us")" = 10000 ]
        [ "$(cat "$cdir/cpu.cfs_period_us")" = 200000 ]
    fi
}

@test "cgroups: update: --resources from stdin and from a file, flags win, later updates keep earlier values" {
    configure '.linux.resources.pids = {limit: 100} | .linux.resources.memory = {limit: 67108864}' -- sleep 1000
    id=$(container_id)
    create_started "$id"
    pdir=$(cg_dir pids "$PID")
    cdir=$(cg_dir cpu "$PID")

    berth update --resources - --pids-limit 30 "$id" <<<'{"pids": {"limit": 20}, "cpu": {"shares": 512}}'
    [ "$(cat "$pdir/pids.max")" = 30 ]
    if cg_is_v2 cpu; then
        w=$(cat "$cdir/cpu.weight")
        [ "$w" -lt 100 ] && [ "$w" -ge 1 ]
    else
        [ "$(cat "$cdir/cpu.shares")" = 512 ]
    fi

    # A second update names only memory: pids (30) and shares stay.
    berth update --memory 128M "$id"
    run --separate-stderr stats "$id"
    [ "$status" -eq 0 ]
    [ "$(jq -r .data.pids.limit <<<"$output")" = 30 ]
    [ "$(jq -r .data.memory.usage.limit <<<"$output")" = $((128 * MiB)) ]

    # From a file, with a cpuset.
    echo '{"cpu": {"cpus": "0", "mems": "0"}, "pids": {"limit": 25}}' >"$T/res.json"
    berth update --resources "$T/res.json" "$id"
    sdir=$(cg_dir cpuset "$PID")
    [ "$(cat "$sdir/cpuset.cpus")" = 0 ]
    run --separate-stderr stats "$id"
    [ "$(jq -r .data.pids.limit <<<"$output")" = 25 ]
    [ "$(jq -r .data.memory.usage.limit <<<"$output")" = $((128 * MiB)) ]
    # The container's cpu affinity follows.
    [ "$(awk '/^Cpus_allowed_list/ { print $2 }' "/proc/$PID/status")" = 0 ]

    # An update berth cannot apply changes nothing and says why.
    run berth update --resources - "$id" <<<'{"pids": {"limit": 7}, "cpu": {"cpus": "99999"}}'
    assert_refused cpu.cpus
    [ "$(cat "$sdir/cpuset.cpus")" = 0 ]
    run berth update --memory nonsense "$id"
    assert_refused --memory nonsense
    [ "$(cat "$pdir/pids.max")" != 7 ] || {
        echo "a refused update still changed pids.max" >&2
        false
    }
}

# ---------------------------------------------------------------------------------------------
# pause / resume

freezer_state() {
    local pid=$1
    if cg_is_v2 freezer; then
        awk '$1 == "frozen" { print ($2 == 1 ? "FROZEN" : "THAWED") }' "$(cg_dir unified "$pid")/cgroup.events"
    else
        cat "$(cg_dir freezer "$pid")/freezer.state"
    fi
}

list_status() {
    berth list --format json | jq -r --arg id "$1" '.[] | select(.id == $id) | .status'
}

@test "cgroups: pause freezes a counter (status paused), resume continues it" {
    configure '.root.readonly = false' -- "$TESTHELPER" counter /count
    id=$(container_id)
    create_started "$id"
    wait_for_file "$ROOTFS/count" '^[0-9]+$'
    retry 200 0.05 number_at_least "$ROOTFS/count" 3

    berth pause "$id"
    [ "$(status_of "$id")" = paused ]
    [ "$(freezer_state "$PID")" = FROZEN ]
    # list reads the freezer file that state.json records ahead of the cgroup record...
    st="$BERTH_ROOT/$id/state.json"
    [ "$(jq '.berth | keys_unsorted | index("freezer") < index("cgroup")' "$st")" = true ]
    [ "$(list_status "$id")" = paused ]
    # ...and, in a state written without it, the freezer's hierarchy of the cgroup record
    jq -c 'del(.berth.freezer)' "$st" > "$st.new" && mv "$st.new" "$st"
    [ "$(list_status "$id")" = paused ]
    a=$(cat "$ROOTFS/count")
    sleep 0.5
    b=$(cat "$ROOTFS/count")
    [ "$a" = "$b" ]
    run berth pause "$id"
    assert_refused paused

    berth resume "$id"
    [ "$(status_of "$id")" = running ]
    [ "$(list_status "$id")" = running ]
    [ "$(freezer_state "$PID")" = THAWED ]
    sleep 0.3
    c=$(cat "$ROOTFS/count")
    note "pause: counter at $a when paused, $b 0.5 s later, $c 0.3 s after resume"
    [ "$c" -gt "$b" ]
    run berth resume "$id"
    assert_refused running
}

@test "cgroups: exec into a paused container fails clearly; --ignore-paused runs it once resumed" {
    configure '.root.readonly = false' -- sleep 1000
    id=$(container_id)
    create_started "$id"
    berth pause "$id"
    run berth exec "$id" sh -c 'echo ran > /ran1'
    assert_refused paused --ignore-paused
    [ ! -e "$ROOTFS/ran1" ]

    background berth exec --ignore-paused "$id" sh -c 'echo ran > /ran2'
    epid=${BG_PIDS[-1]}
    sleep 1
    # Frozen with the rest: it has not run while the container is paused.
    [ ! -e "$ROOTFS/ran2" ]
    [ "$(status_of "$id")" = paused ]
    berth resume "$id"
    retry 100 0.05 test -e "$ROOTFS/ran2"
    wait "$epid"
    [ "$(cat "$ROOTFS/ran2")" = ran ]
}

@test "cgroups: delete --force removes a paused container, its processes and cgroups" {
    set_args sh -c 'sleep 1000 & sleep 1000 & exec sleep 1000'
    id=$(container_id)
    create_started "$id"
    retry 50 0.05 has_children "$PID" 2
    kids=$(pgrep -P "$PID")
    berth pause "$id"
    [ "$(status_of "$id")" = paused ]
    timeout 20 "$BERTH" --root "$BERTH_ROOT" delete --force "$id"
    run berth state "$id"
    [ "$status" -ne 0 ]
    for p in $PID $kids; do
        retry 50 0.1 pid_gone "$p"
    done
    assert_nothing_left
}

# ---------------------------------------------------------------------------------------------
# ps, kill --all

@test "cgroups: ps lists exactly the container's processes (table and --format json)" {
    set_args sh -c "sleep 1000 & sleep 1001 & exec $TESTHELPER sleep inf"
    id=$(container_id)
    create_started "$id"
    retry 50 0.05 has_children "$PID" 2
    berth exec -d --pid-file "$T/exec.pid" "$id" sleep 1002
    epid=$(cat "$T/exec.pid")
    want=$(printf '%s\n' "$PID" $(pgrep -P "$PID") "$epid" | sort -n | jq -cs .)

    run --separate-stderr berth ps --format json "$id"
    [ "$status" -eq 0 ]
    [ "$(jq -c 'sort' <<<"$output")" = "$want" ] || {
        echo "ps --format json: $output, expected $want" >&2
        false
    }

    run --separate-stderr berth ps "$id"
    [ "$status" -eq 0 ]
    [[ ${lines[0]} == *PID* ]]
    col=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "PID") print i; exit }' <<<"${lines[0]}")
    got=$(sed 1d <<<"$output" | awk -v c="$col" '{ print $c }' | sort -n | jq -cs .)
    [ "$got" = "$want" ] || {
        echo "ps table: pids $got, expected $want:" >&2
        echo "$output" >&2
        false
    }
    [[ $output == *"sleep 1001"* ]] && [[ $output == *"sleep 1002"* ]]
    [[ $output != *bats* ]]
}

@test "cgroups: kill --all signals every process in the cgroup" {
    set_args sh -c "sleep 1000 & sleep 1001 & exec $TESTHELPER sleep inf"
    id=$(container_id)
    create_started "$id"
    retry 50 0.05 has_children "$PID" 2
    kids=$(pgrep -P "$PID")
    berth exec -d --pid-file "$T/exec.pid" "$id" sleep 1002
    epid=$(cat "$T/exec.pid")

    # TERM: the sleeps die; pid 1 of the container has no handler, so the kernel drops it.
    berth kill --all "$id" TERM
    for p in $kids $epid; do
        retry 50 0.1 pid_gone "$p"
    done
    ! pid_gone "$PID"
    [ "$(status_of "$id")" = running ]

    berth kill --all "$id" KILL
    wait_for_status "$id" stopped 10
}

# ---------------------------------------------------------------------------------------------
# what the host cannot do is an error naming the resource and the mode

@test "cgroups: unified memory.high: applied on cgroup v2, elsewhere an error naming it and the mode" {
    configure '.linux.resources.unified = {"memory.high": "67108864"}' -- sleep 1000
    id=$(container_id)
    try_create "$id"
    if [ "$CG_MODE" = unified ]; then
        [ "$status" -eq 0 ] || {
            echo "$stderr" >&2
            false
        }
        pid=$PID
        [ "$(cat "$(cg_dir unified "$pid")/memory.high")" = 67108864 ]
    else
        status=$status output=$stderr assert_refused memory.high "$CG_MODE_WORD"
        assert_nothing_left
    fi
}

@test "cgroups: blockIO.weight: written where the host has a weight file, else an error naming it and the mode" {
    configure '.linux.resources.blockIO = {weight: 300}' -- sleep 1000
    id=$(container_id)
    try_create "$id"
    if [ "$status" -eq 0 ]; then
        pid=$PID
        d=$(cg_dir blkio "$pid")
        v=$(cat "$d/blkio.weight" "$d/blkio.bfq.weight" "$d/io.bfq.weight" "$d/io.weight" 2>/dev/null | head -3 | tr '\n' ' ')
        note "blockIO.weight 300 -> $v"
        [[ $v == *300* ]] || [[ $v == *"default "* ]]
        if [ -e "$d/io.weight" ] && [ ! -e "$d/io.bfq.weight" ]; then
            # blkio weight [10, 1000] maps onto io.weight [1, 10000]
            [ "$(awk '$1 == "default" { print $2 }' "$d/io.weight")" != 100 ]
        fi
    else
        note "blockIO.weight refused: $stderr"
        status=1 output=$stderr assert_refused blockIO.weight "$CG_MODE_WORD"
        assert_nothing_left
    fi
}

@test "cgroups: settings this host's cgroup version lacks are refused, naming the setting and the mode" {
    set_args true
    n=0
    # check_refused NAME JQ-FILTER: creating with the filter applied fails naming NAME
    check_refused() {
        local name=$1 filter=$2 cid
        n=$((n + 1))
        cid=$(container_id "r$n")
        cp "$BERTH_BUNDLE/config.json" "$T/config.orig"
        update_config "$filter"
        try_create "$cid"
        cp "$T/config.orig" "$BERTH_BUNDLE/config.json"
        note "refused $name: $stderr"
        status=$status output=$stderr assert_refused "$name" "$CG_MODE_WORD"
        [ ! -e "$BERTH_ROOT/$cid" ]
    }
    if [ "$CG_MODE" = unified ]; then
        check_refused memory.swappiness '.linux.resources.memory = {swappiness: 10}'
        check_refused memory.kernelTCP '.linux.resources.memory = {kernelTCP: 1048576}'
        check_refused cpu.realtimeRuntime '.linux.resources.cpu = {realtimeRuntime: 1000, realtimePeriod: 100000}'
        check_refused network.classID '.linux.resources.network = {classID: 1048577}'
        check_refused blockIO.leafWeight '.linux.resources.blockIO = {leafWeight: 300}'
    else
        check_refused memory.high '.linux.resources.unified = {"memory.high": "max"}'
        check_refused pids.max '.linux.resources.unified = {"pids.max": "10"}'
        if ! awk '$1 == "rdma" && $4 == 1 { f = 1 } END { exit !f }' /proc/cgroups; then
            check_refused rdma '.linux.resources.rdma = {"mlx5_0": {hcaHandles: 3}}'
        fi
        if cg_is_v2 net_cls; then
            check_refused network.classID '.linux.resources.network = {classID: 1048577}'
        fi
    fi
    assert_nothing_left
}

@test "cgroups: unified keys naming a path outside the container's cgroup, or no file, are refused" {
    set_args true
    n=0
    for key in ../memory.max /sys/fs/cgroup/memory.max sub/memory.max cgroup.procs .. '' \
        memory.no_such_file; do
        n=$((n + 1))
        cid=$(container_id "k$n")
        update_config '.linux.resources.unified = {($k): "1"}' --arg k "$key"
        try_create "$cid"
        note "unified[\"$key\"]: $stderr"
        [ "$status" -ne 0 ] || {
            echo "unified key \"$key\" was accepted" >&2
            false
        }
        [[ $stderr == *"unified"* ]]
        [ -z "$key" ] || [[ $stderr == *"$key"* ]]
        [ ! -e "$BERTH_ROOT/$cid" ]
    done
    assert_nothing_left
}

# ---------------------------------------------------------------------------------------------
# hugetlb

hugetlb_files() { # DIR: the limit file (and reservation file) for 2MB pages
    if [ -e "$1/hugetlb.2MB.max" ]; then
        echo "$1/hugetlb.2MB.max $1/hugetlb.2MB.rsvd.max"
    else
        echo "$1/hugetlb.2MB.limit_in_bytes $1/hugetlb.2MB.rsvd.limit_in_bytes"
    fi
}

@test "cgroups: hugepageLimits: the 2MB limit is set (on the cgroup2 mount of a hybrid host)" {
    [ -d /sys/kernel/mm/hugepages/hugepages-2048kB ] || skip "the kernel has no 2 MB huge pages"
    grep -qw hugetlb /proc/cgroups || skip "the kernel has no hugetlb controller"
    configure '.linux.resources.hugepageLimits = [{pageSize: "2MB", limit: 4194304}]' -- sleep 1000
    id=$(container_id)
    create_started "$id"
    d=$(cg_dir hugetlb "$PID")
    if [ "$CG_MODE" = hybrid ] && cg_is_v2 hugetlb; then
        [[ $d == /sys/fs/cgroup/unified/* ]]
    fi
    read -r lim rsvd <<<"$(hugetlb_files "$d")"
    [ "$(cat "$lim")" = 4194304 ]
    [ ! -e "$rsvd" ] || [ "$(cat "$rsvd")" = 4194304 ]
    run --separate-stderr stats "$id"
    jq -e '.data.hugetlb["2MB"]' <<<"$output" >/dev/null
    # A page size the host does not have is an error naming it.
    update_config '.linux.resources.hugepageLimits = [{pageSize: "3MB", limit: 4194304}]'
    try_create "$(container_id 2)"
    status=$status output=$stderr assert_refused hugepageLimits 3MB
}

@test "cgroups: hugepageLimits: a hugetlbfs allocation past the limit fails" {
    [ -d /sys/kernel/mm/hugepages/hugepages-2048kB ] || skip "the kernel has no 2 MB huge pages"
    free=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages)
    [ "$free" -ge 4 ] || skip "only $free free 2 MB huge pages (vm.nr_hugepages); reserving some changes the host for everyone, tests/vm/suite.sh does it in its VM"
    update_config '.linux.resources.hugepageLimits = [{pageSize: "2MB", limit: 4194304}] |
        .mounts += [{destination: "/hp", type: "hugetlbfs", source: "hugetlbfs", options: ["pagesize=2M"]}]'
    set_args sleep 1000
    id=$(container_id)
    create_started "$id"
    run berth exec "$id" fallocate -l 4M /hp/a
    [ "$status" -eq 0 ]
    run berth exec "$id" fallocate -l 2M /hp/b
    note "hugetlb: 2 MiB more past a 4 MiB limit: status $status: $output"
    [ "$status" -ne 0 ]
    run --separate-stderr stats "$id"
    [ "$(jq -r '.data.hugetlb["2MB"].usage' <<<"$output")" = 4194304 ]
    [ "$(jq -r '.data.hugetlb["2MB"].failcnt' <<<"$output")" -gt 0 ]
}

# ---------------------------------------------------------------------------------------------
# devices

@test "cgroups: devices: no mknod or open outside the allowed list even with CAP_MKNOD; allowed ones work" {
    [ -c /dev/kmsg ] || skip "the host has no /dev/kmsg to bind into the container"
    update_config '.process.capabilities.bounding += ["CAP_MKNOD"] |
        .process.capabilities.effective += ["CAP_MKNOD"] |
        .process.capabilities.permitted += ["CAP_MKNOD"] |
        .mounts += [{destination: "/dev/kmsg", type: "bind", source: "/dev/kmsg", options: ["bind"]}]'
    probe="$TESTHELPER mknod /dev/n c 1 3; $TESTHELPER open /dev/n w; $TESTHELPER mknod /dev/k c 1 11; $TESTHELPER open /dev/kmsg w; $TESTHELPER mknod /dev/r b 1 0; true"
    set_args sh -c "$probe"
    run --separate-stderr berth run "$(container_id 1)"
    [ "$status" -eq 0 ] || {
        echo "status $status: $output $stderr" >&2
        false
    }
    note "devices: default list: $(echo $output)"
    # null (standard set) can be made and opened; kmsg and a block device cannot.
    [ "$(echo $output)" = "ok ok EPERM EPERM EPERM" ]

    # Allowing c 1:11 rw lets the bound /dev/kmsg open, but not mknod; b 1:0 m allows mknod.
    update_config '.linux.resources.devices += [{allow: true, type: "c", major: 1, minor: 11, access: "rw"},
        {allow: true, type: "b", major: 1, minor: 0, access: "m"}]'
    run --separate-stderr berth run "$(container_id 2)"
    [ "$status" -eq 0 ] || {
        echo "status $status: $output $stderr" >&2
        false
    }
    note "devices: with c 1:11 rw, b 1:0 m allowed: $(echo $output)"
    [ "$(echo $output)" = "ok ok EPERM ok ok" ]
}

# ---------------------------------------------------------------------------------------------
# cgroupsPath

# own_path CTRLS: this shell's path in the hierarchy whose /proc/self/cgroup line has CTRLS
# ("" for cgroup2).
own_path() {
    awk -F: -v c="$1" '$2 == c { sub(/^[^:]*:[^:]*:/, ""); print; exit }' /proc/$$/cgroup
}

@test "cgroups: a relative cgroupsPath goes below the caller's cgroup in every hierarchy" {
    id=$(container_id)
    update_config '.linux.cgroupsPath = $p | .linux.resources.pids = {limit: 50} |
        .linux.resources.memory = {limit: 67108864}' --arg p "$id-parent/$id"
    set_args sleep 1000
    create_started "$id"
    n=0
    while IFS=: read -r num ctrls path; do
        [ "$num" != 0 ] || [ -z "$ctrls" ] || continue
        want=${path%/}/$id-parent/$id
        got=$(awk -F: -v c="$ctrls" -v n="$num" '$1 == n && $2 == c { sub(/^[^:]*:[^:]*:/, ""); print }' "/proc/$PID/cgroup")
        [ "$got" = "$want" ] || {
            echo "hierarchy ${ctrls:-cgroup2}: container in $got, expected $want" >&2
            false
        }
        n=$((n + 1))
    done </proc/$$/cgroup
    [ "$n" -ge 1 ]
    [ "$(cat "$(cg_dir pids "$PID")/pids.max")" = 50 ]
    mdir=$(cg_dir memory "$PID")
    [ "$(cat "$mdir/$(mem_limit_file)")" = 67108864 ]
    if cg_is_v2 memory; then
        # v2: the parents hand the controllers down.
        grep -qw memory "$(dirname "$mdir")/cgroup.subtree_control"
        grep -qw pids "$(dirname "$mdir")/cgroup.subtree_control"
    else
        # the memory cgroup is ours, below our own
        [[ $mdir == /sys/fs/cgroup/memory$(own_path memory)/* ]]
    fi
    berth delete --force "$id"
    no_cgroup_named "$id-parent"
}

@test "cgroups: an absolute cgroupsPath is taken from each hierarchy's root" {
    id=$(container_id)
    if [ "$CG_MODE" = unified ]; then
        base=$(own_path "")
    else
        base=$(own_path memory)
    fi
    abs=${base%/}/$id-abs
    update_config '.linux.cgroupsPath = $p | .linux.resources.memory = {limit: 67108864}' --arg p "$abs"
    set_args sleep 1000
    # The directories above ours that exist now, per hierarchy: only they may remain.
    mapfile -t mounts < <(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break
        if ($(i + 1) == "cgroup" || $(i + 1) == "cgroup2") print $5 }' /proc/self/mountinfo)
    declare -A existed=()
    for m in "${mounts[@]}"; do
        p=$base
        while [ "$p" != / ] && [ -n "$p" ]; do
            [ -d "$m$p" ] && existed["$m$p"]=1
            p=$(dirname "$p")
        done
    done
    create_started "$id"
    while IFS=: read -r num ctrls path; do
        [ "$path" = "$abs" ] || {
            echo "hierarchy ${ctrls:-cgroup2}: container in $path, expected $abs" >&2
            false
        }
    done <"/proc/$PID/cgroup"
    mdir=$(cg_dir memory "$PID")
    [ "$(cat "$mdir/$(mem_limit_file)")" = 67108864 ]
    # Below our own memory cgroup, as the host's rules want.
    [[ $mdir == "$(dirname "$mdir")/$id-abs" ]]
    berth delete --force "$id"
    no_cgroup_named "$id-abs"
    for m in "${mounts[@]}"; do
        p=$base
        while [ "$p" != / ] && [ -n "$p" ]; do
            if [ -z "${existed["$m$p"]:-}" ] && [ -d "$m$p" ]; then
                echo "berth left $m$p (created for $abs)" >&2
                false
            fi
            p=$(dirname "$p")
        done
    done
}

# ---------------------------------------------------------------------------------------------
# cleanup

@test "cgroups: a failed create leaves no cgroup behind (invalid cpuset, nested path, bad values)" {
    id=$(container_id)
    set_args true
    # RESOURCES|CGROUPSPATH: an invalid cpuset fails once the directories exist, swap below
    # the limit before any exists, a quota under the kernel's minimum while writing.
    for c in '{"cpu": {"cpus": "99999"}}|' "{\"cpu\": {\"cpus\": \"99999\"}}|$id-p/$id" \
        "{\"cpu\": {\"mems\": \"4000\"}}|$id-p/$id" '{"memory": {"limit": 67108864, "swap": 33554432}}|' \
        "{\"cpu\": {\"quota\": 1}}|$id-p/q/$id"; do
        res=${c%%|*}
        path=${c#*|}
        update_config '.linux.resources = $r | .linux.cgroupsPath = $p' --argjson r "$res" --arg p "$path"
        try_create "$id"
        note "create with $res${path:+ in $path}: $stderr"
        [ "$status" -ne 0 ]
        assert_nothing_left
        no_cgroup_named "$id-p"
    done
}

@test "cgroups: delete removes the cgroups of a stopped container, and of one whose processes still run" {
    set_args sh -c 'sleep 1000 & exec sleep 1000'
    id=$(container_id)
    create_started "$id"
    retry 50 0.05 has_children "$PID" 1
    # Processes still inside: delete --force must kill them and remove every directory.
    berth delete --force "$id"
    assert_nothing_left

    set_args true
    id2=$(container_id 2)
    create_started "$id2"
    wait_for_status "$id2" stopped
    berth delete "$id2"
    assert_nothing_left
}

# ---------------------------------------------------------------------------------------------
# cgroup v2 only (tests/vm/suite.sh runs this file in a pure cgroup v2 VM)

require_unified() {
    [ "$CG_MODE" = unified ] || skip "needs a pure cgroup v2 host, this one is $CG_MODE (tests/vm/suite.sh runs these in a VM)"
}

# ms CMD...: run CMD, print how long it took in ms (its status is ignored; output to $T/ms.out)
ms() {
    local t0 t1
    t0=$EPOCHREALTIME
    "$@" >"$T/ms.out" 2>&1 || true
    t1=$EPOCHREALTIME
    echo $(((${t1/./} - ${t0/./}) / 1000))
}

@test "cgroups v2: io.max throttles reads and writes of a block device, and update changes it" {
    require_unified
    if [ ! -b /dev/ram0 ]; then
        modprobe brd rd_nr=1 rd_size=65536 2>/dev/null || true
    fi
    [ -b /dev/ram0 ] || skip "no /dev/ram0 and the brd module cannot be loaded here"
    maj=$(stat -c %t /dev/ram0)
    min=$(stat -c %T /dev/ram0)
    maj=$((16#$maj))
    min=$((16#$min))
    update_config '.linux.devices = [{path: "/dev/ram0", type: "b", major: $ma, minor: $mi, fileMode: 432}] |
        .linux.resources.blockIO = {
            throttleReadBpsDevice: [{major: $ma, minor: $mi, rate: 1048576}],
            throttleWriteBpsDevice: [{major: $ma, minor: $mi, rate: 1048576}]}' \
        --argjson ma "$maj" --argjson mi "$min"
    set_args sleep 1000
    id=$(container_id)
    create_started "$id"
    d=$(cg_dir unified "$PID")
    [ "$(cat "$d/io.max")" = "$maj:$min rbps=1048576 wbps=1048576 riops=max wiops=max" ]

    # 2 MiB at 1 MiB/s, with O_DIRECT so that the page cache does not absorb it.
    host=$(ms dd if=/dev/zero of=/dev/ram0 bs=64k count=32 oflag=direct)
    w=$(ms berth exec "$id" dd if=/dev/zero of=/dev/ram0 bs=64k count=32 oflag=direct)
    r=$(ms berth exec "$id" dd if=/dev/ram0 of=/dev/null bs=64k count=32 iflag=direct)
    note "io.max: 2 MiB to /dev/ram0: host ${host} ms, container (1 MiB/s) write ${w} ms, read ${r} ms"
    [ "$w" -ge 1500 ] && [ "$w" -le 6000 ]
    [ "$r" -ge 1500 ] && [ "$r" -le 6000 ]
    [ "$host" -lt 1000 ]

    berth update --resources - "$id" <<<"{\"blockIO\": {\"throttleWriteBpsDevice\": [{\"major\": $maj, \"minor\": $min, \"rate\": 16777216}]}}"
    grep -q "wbps=16777216" "$d/io.max"
    w2=$(ms berth exec "$id" dd if=/dev/zero of=/dev/ram0 bs=64k count=32 oflag=direct)
    note "io.max: after update to 16 MiB/s: write ${w2} ms"
    [ "$w2" -lt 1000 ]

    run --separate-stderr stats "$id"
    written=$(jq --argjson ma "$maj" --argjson mi "$min" '[.data.blkio.ioServiceBytesRecursive[]? |
        select(.major == $ma and (.minor // 0) == $mi and .op == "Write") | .value] | add // 0' <<<"$output")
    note "io.max: events --stats Write bytes on $maj:$min: $written"
    [ "$written" -ge $((4 * MiB)) ]
}

@test "cgroups v2: unified memory.high throttles without an OOM kill; update lifts it" {
    require_unified
    configure '.linux.resources.unified = {"memory.high": "16777216"}' -- sleep 1000
    id=$(container_id)
    create_started "$id"
    d=$(cg_dir unified "$PID")
    [ "$(cat "$d/memory.high")" = 16777216 ]
    berth exec -d --pid-file "$T/alloc.pid" "$id" "$TESTHELPER" alloc 40 >"$T/alloc.out" 2>&1
    apid=$(cat "$T/alloc.pid")
    sleep 3
    got=$(grep -c '^allocated' "$T/alloc.out" || true)
    high=$(awk '$1 == "high" { print $2 }' "$d/memory.events")
    killed=$(awk '$1 == "oom_kill" { print $2 }' "$d/memory.events")
    note "memory.high 16 MiB: $got MiB of 40 allocated after 3 s, memory.events high $high, oom_kill $killed, memory.current $(cat "$d/memory.current")"
    [ "$high" -gt 0 ]
    [ "$killed" = 0 ]
    ! pid_gone "$apid"
    [ "$got" -lt 40 ]

    berth update --resources - "$id" <<<'{"unified": {"memory.high": "max"}}'
    [ "$(cat "$d/memory.high")" = max ]
    wait_for_file "$T/alloc.out" 'allocated 40 MiB' 20
}

@test "cgroups v2: the container process is born in its cgroup (clone3 with CLONE_INTO_CGROUP), exec'd ones too" {
    require_unified
    require_cmd strace
    set_args sh -c 'cat /proc/self/cgroup'
    update_config '.linux.namespaces |= map(select(.type != "cgroup"))'
    id=$(container_id)
    run strace -f -qq -e trace=clone3 -o "$T/strace" "$BERTH" --root "$BERTH_ROOT" run "$id"
    [ "$status" -eq 0 ]
    [ "$output" = "0::/$id" ]
    grep -E 'clone3\(.*CLONE_INTO_CGROUP' "$T/strace" || {
        echo "no clone3 with CLONE_INTO_CGROUP in:" >&2
        cat "$T/strace" >&2
        false
    }

    set_args sleep 1000
    id=$(container_id 2)
    create_started "$id"
    run strace -f -qq -e trace=clone3 -o "$T/strace.exec" "$BERTH" --root "$BERTH_ROOT" exec "$id" cat /proc/self/cgroup
    [ "$status" -eq 0 ]
    [ "$output" = "0::/$id" ]
    grep -E 'clone3\(.*CLONE_INTO_CGROUP' "$T/strace.exec" || {
        echo "exec: no clone3 with CLONE_INTO_CGROUP in:" >&2
        cat "$T/strace.exec" >&2
        false
    }
}

# The standard conversion (runc >= 1.3.2, crun >= 1.23): 2 -> 1, 1024 -> 100, 262144 -> 10000.
shares_to_weight() {
    awk -v s="$1" 'BEGIN {
        if (s <= 2) { print 1; exit }
        if (s >= 262144) { print 10000; exit }
        l = log(s) / log(2); e = (l * l + 125 * l) / 612 - 7 / 34
        # ceil, without awk float noise turning 100.00000000000004 into 101
        w = exp(e * log(10)) - 1e-9; c = int(w); if (c < w) c++; print c }'
}

@test "cgroups v2: cpu.shares become cpu.weight by the quadratic conversion (1024 -> 100)" {
    require_unified
    configure '.linux.resources.cpu = {shares: 1024}' -- sleep 1000
    id=$(container_id)
    create_started "$id"
    d=$(cg_dir unified "$PID")
    got="1024:$(cat "$d/cpu.weight")"
    want="1024:$(shares_to_weight 1024)"
    for s in 2 512 2048 262144; do
        berth update --cpu-share "$s" "$id"
        got+=" $s:$(cat "$d/cpu.weight")"
        want+=" $s:$(shares_to_weight "$s")"
    done
    note "cpu.weight for shares: $got (expected $want)"
    [ "$got" = "$want" ]
}

@test "cgroups v2: controllers are handed down to the container's cgroup; a parent with processes is reported" {
    require_unified
    id=$(container_id)
    update_config '.linux.cgroupsPath = $p | .linux.resources.memory = {limit: 67108864} |
        .linux.resources.pids = {limit: 50}' --arg p "$id-parent/$id"
    set_args sleep 1000
    create_started "$id"
    d=$(cg_dir unified "$PID")
    own=$(own_path "")
    [ "$d" = "/sys/fs/cgroup${own%/}/$id-parent/$id" ]
    for c in memory pids; do
        grep -qw "$c" "$(dirname "$d")/cgroup.subtree_control"
    done
    [ "$(cat "$d/memory.max")" = 67108864 ]
    berth delete --force "$id"
    no_cgroup_named "$id-parent"

    # A parent with a process of its own cannot hand controllers down (no internal processes).
    busy=/sys/fs/cgroup${own%/}/$id-busy
    mkdir "$busy"
    background sleep 100
    spid=${BG_PIDS[-1]}
    echo "$spid" >"$busy/cgroup.procs"
    update_config '.linux.cgroupsPath = $p' --arg p "$id-busy/$id"
    try_create "$id"
    left=$(cat "$busy/cgroup.subtree_control")
    kill "$spid"
    wait "$spid" || true
    retry 50 0.1 rmdir "$busy" || true
    note "cgroupsPath below a cgroup with processes: $stderr"
    [ "$status" -ne 0 ]
    bad=0
    [[ $stderr == *"$id-busy"* && $stderr == *"internal process"* ]] || {
        echo "the error does not explain the no internal processes rule: $stderr" >&2
        bad=1
    }
    # Nothing left behind: not even controllers switched on in a cgroup berth did not make.
    [ -z "$left" ] || {
        echo "the failed create left \"$left\" in $busy/cgroup.subtree_control" >&2
        bad=1
    }
    [ "$bad" = 0 ]
    assert_nothing_left
}
