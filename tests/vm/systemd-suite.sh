#!/usr/bin/env bash
# berth under a real systemd: boots the host's systemd as pid 1 in the test VM
# (tests/vm/run.sh --systemd) and runs berth containers as services with the unit from
# contrib/systemd/berth@.service: Type=notify (READY=1 from the container), MainPID,
# `systemctl stop` within the timeout, failures, socket activation, and nothing left
# behind (state, cgroups, processes). Prints TAP.
#
# Usage (as root): tests/vm/systemd-suite.sh [BUILD-DIR]
#   BUILD-DIR holds berth and tests/helpers/berth-testhelper (default: $BERTH_BUILD_DIR,
#   else the current directory); the rootfs and bundles are made in it for the run, then
#   removed. Takes 2-3 minutes: systemd's boot under TCG and every systemctl are slow there.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
src=$(cd "$here/../.." && pwd -P)
self=$here/$(basename "${BASH_SOURCE[0]}")

# name|description, in the order they run
TESTS=(
    "t_unit|the contrib unit berth@.service loads in systemd"
    "t_start|systemctl start of a Type=notify container returns after READY=1; is-active"
    "t_mainpid|MainPID is the container's process, StatusText its STATUS="
    "t_stop|systemctl stop ends it cleanly (SIGTERM) within the timeout; nothing left"
    "t_default_cgroup|a container with the default cgroup (below the service's) runs as a service"
    "t_stubborn|a container ignoring SIGTERM is killed at TimeoutStopSec; nothing left"
    "t_exit_ok|a container exiting 0 by itself leaves the unit inactive, Result=success"
    "t_exit_fail|a container failing after READY=1 leaves the unit failed (Restart=on-failure works)"
    "t_no_ready|a container exiting before READY=1 fails the start; nothing left"
    "t_socket|a .socket unit activates the container, which accepts on fd 3"
    "t_no_leftovers|no berth process, container cgroup or state is left at the end"
)

# ------------------------------------------------------------------------------ in the guest
B="" H="" PREPARED="" W=/tmp/berth-systemd ROOT=/run/berth-systemd-test UNITS=/run/systemd/system

# mk_bundle DIR NAME ARGS-JSON [cgroupsPath|-]: the bundle DIR/bundles/NAME, made on the host
# for the guest's $W/bundles/NAME: rootfs/ is a link to $W/rootfs, /log in the container is
# $W/log. cgroupsPath defaults to /berth/NAME (outside the service's cgroup).
mk_bundle() {
    local dir=$1/bundles/$2 cg=${4:-/berth/$2}
    mkdir -p "$dir"
    ln -sfn "$W/rootfs" "$dir/rootfs"
    (cd "$dir" && "$B" spec) || return 1
    jq --argjson a "$3" --arg cg "$cg" --arg log "$W/log" '.process.terminal = false
        | .process.args = $a
        | if $cg == "-" then del(.linux.cgroupsPath) else .linux.cgroupsPath = $cg end
        | .mounts += [{destination: "/log", type: "bind", source: $log, options: ["rbind"]}]' \
        "$dir/config.json" >"$dir/config.json.new" && mv "$dir/config.json.new" "$dir/config.json"
}

# host_prepare DIR: the rootfs template and the bundles, in DIR (forks are slow under TCG).
host_prepare() {
    # shellcheck disable=SC2016 # $0 is the container shell's
    local d=$1 sig='exec /bin/berth-testhelper signals >/log/$0.log 2>&1'
    "$src/tests/helpers/make-rootfs.sh" "$d/rootfs" "$H" || return 1
    mkdir -p "$d/rootfs/log"
    mk_bundle "$d" web '["sh", "-c", "sleep 1; /bin/berth-testhelper sdnotify \"STATUS=serving requests\" READY=1; '"$sig"'", "web"]'
    mk_bundle "$d" plain '["sh", "-c", "/bin/berth-testhelper sdnotify READY=1; '"$sig"'", "plain"]' -
    mk_bundle "$d" stubborn '["sh", "-c", "trap \"\" TERM; /bin/berth-testhelper sdnotify READY=1; while :; do sleep 1; done"]'
    mk_bundle "$d" done0 '["sh", "-c", "/bin/berth-testhelper sdnotify READY=1; sleep 1; exit 0"]'
    mk_bundle "$d" fail3 '["sh", "-c", "/bin/berth-testhelper sdnotify READY=1; sleep 1; exit 3"]'
    mk_bundle "$d" noready '["sh", "-c", "exit 5"]'
    mk_bundle "$d" sock '["sh", "-c", "/bin/berth-testhelper sdnotify READY=1; env | grep ^LISTEN_ >/log/sock.env; exec /bin/berth-testhelper listen-fds >/log/sock.log 2>&1"]'
}

prop() { # UNIT PROPERTY
    systemctl show -p "$2" --value "$1"
}

# diag: everything about a unit worth seeing when a test fails
diag() {
    echo "--- $1: $(systemctl show -p ActiveState,SubState,Result,MainPID,ExecMainStatus "$1" | tr '\n' ' ')"
    journalctl -u "$1" --no-pager -o short-monotonic 2>/dev/null | tail -n 15
}

fail() {
    echo "FAILED: $*"
    return 1
}

# left NAME: nothing of container NAME remains: state, cgroup, processes.
left() {
    local cg
    if "$B" --root "$ROOT" state "$1" >/dev/null 2>&1; then
        fail "container $1 still has state: $("$B" --root "$ROOT" state "$1")"
        return 1
    fi
    cg=$(find /sys/fs/cgroup -mindepth 1 -type d -name "$1" 2>/dev/null)
    [ -z "$cg" ] || { fail "cgroup left: $cg"; return 1; }
    if pgrep -f -- "--bundle $W/bundles/$1 " >/dev/null; then
        fail "berth still runs for $1: $(pgrep -af -- "--bundle $W/bundles/$1 ")"
        return 1
    fi
    return 0
}

# wait_until SECONDS CMD...: CMD succeeds within SECONDS.
wait_until() {
    local t=$1 i
    shift
    for ((i = 0; i < t * 10; i++)); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}

inactive() { [ "$(prop "$1" ActiveState)" = inactive ]; }
not_running() { case $(prop "$1" ActiveState) in inactive | failed) return 0 ;; esac; return 1; }

guest_setup() {
    if [ ! -x "$B" ] || [ ! -x "$H" ]; then
        echo "berth or berth-testhelper missing"
        return 1
    fi
    mkdir -p "$W/log"
    # The host made the rootfs and the bundles: one cp here.
    cp -a "$PREPARED/." "$W/" || return 1

    # The unit as shipped, with this build's berth and the test's directories.
    sed "s|/usr/local/bin/berth|$B|g" "$src/contrib/systemd/berth@.service" >"$UNITS/berth@.service"
    mkdir -p "$UNITS/berth@.service.d" "$UNITS/berth@stubborn.service.d"
    cat >"$UNITS/berth@.service.d/test.conf" <<EOF
[Service]
Environment=BERTH_ROOT=$ROOT BERTH_BUNDLES=$W/bundles
Restart=no
TimeoutStartSec=30
EOF
    printf '[Service]\nTimeoutStopSec=3\n' >"$UNITS/berth@stubborn.service.d/timeout.conf"
    cat >"$UNITS/berth@sock.socket" <<EOF
[Socket]
ListenStream=127.0.0.1:8765
EOF
    systemctl daemon-reload
}

t_unit() {
    systemctl cat berth@web.service | grep -q '^Type=notify' || fail "systemctl cat: no Type=notify"
    [ "$(prop berth@web.service NotifyAccess)" = all ] || fail "NotifyAccess: $(prop berth@web.service NotifyAccess)"
    [ "$(prop berth@web.service KillMode)" = control-group ] || fail "KillMode: $(prop berth@web.service KillMode)"
    prop berth@web.service ExecStart | grep -q -- "argv\[\]=$B --root .* run --bundle " ||
        fail "ExecStart: $(prop berth@web.service ExecStart)"
}

t_start() {
    local s e
    s=$(date +%s%N)
    systemctl start berth@web.service || { diag berth@web.service; fail "systemctl start failed"; }
    e=$((($(date +%s%N) - s) / 1000000))
    echo "start took $e ms"
    [ "$e" -ge 900 ] || fail "start returned before the container's READY=1 (1 s in)"
    systemctl is-active berth@web.service || { diag berth@web.service; fail "not active"; }
}

t_mainpid() {
    local main pid
    main=$(prop berth@web.service MainPID)
    pid=$("$B" --root "$ROOT" state web | jq -r .pid)
    echo "MainPID=$main, container pid $pid"
    if [ "$main" -le 0 ] || [ "$main" != "$pid" ]; then
        diag berth@web.service
        fail "MainPID is not the container's process"
    fi
    [ "$(tr '\0' ' ' <"/proc/$main/cmdline")" = "/bin/berth-testhelper signals " ] ||
        fail "MainPID runs $(tr '\0' ' ' <"/proc/$main/cmdline")"
    [ "$(prop berth@web.service StatusText)" = "serving requests" ] ||
        fail "StatusText: $(prop berth@web.service StatusText)"
}

t_stop() {
    local s e main
    main=$(prop berth@web.service MainPID)
    s=$(date +%s%N)
    systemctl stop berth@web.service
    e=$((($(date +%s%N) - s) / 1000000))
    echo "stop took $e ms"
    [ "$e" -lt 10000 ] || fail "stop took $e ms"
    grep -qx 'got SIGTERM' "$W/log/web.log" || { cat "$W/log/web.log"; diag berth@web.service; fail "the container did not get SIGTERM"; }
    [ "$(prop berth@web.service Result)" = success ] || { diag berth@web.service; fail "Result: $(prop berth@web.service Result)"; }
    inactive berth@web.service || fail "ActiveState: $(prop berth@web.service ActiveState)"
    [ ! -d "/proc/$main" ] || fail "the container's process $main still runs"
    left web
}

t_default_cgroup() {
    local unitcg
    systemctl start berth@plain.service || { diag berth@plain.service; fail "systemctl start failed"; }
    systemctl is-active berth@plain.service || { diag berth@plain.service; fail "not active"; }
    unitcg=/sys/fs/cgroup$(prop berth@plain.service ControlGroup)
    echo "unit cgroup $unitcg: type $(cat "$unitcg/cgroup.type" 2>/dev/null)"
    systemctl stop berth@plain.service
    grep -qx 'got SIGTERM' "$W/log/plain.log" || fail "the container did not get SIGTERM"
    left plain
}

t_stubborn() {
    local s e
    systemctl start berth@stubborn.service || { diag berth@stubborn.service; fail "start failed"; }
    s=$(date +%s%N)
    systemctl stop berth@stubborn.service
    e=$((($(date +%s%N) - s) / 1000000))
    echo "stop took $e ms (TimeoutStopSec=3), Result=$(prop berth@stubborn.service Result)"
    if [ "$e" -lt 2500 ] || [ "$e" -ge 15000 ]; then fail "stop took $e ms"; fi
    not_running berth@stubborn.service || fail "ActiveState: $(prop berth@stubborn.service ActiveState)"
    wait_until 5 left stubborn >/dev/null || left stubborn
}

t_exit_ok() {
    systemctl start berth@done0.service || { diag berth@done0.service; fail "start failed"; }
    wait_until 15 not_running berth@done0.service || fail "still $(prop berth@done0.service ActiveState)"
    diag berth@done0.service
    [ "$(prop berth@done0.service ActiveState)" = inactive ] || fail "ActiveState: $(prop berth@done0.service ActiveState)"
    [ "$(prop berth@done0.service Result)" = success ] || fail "Result: $(prop berth@done0.service Result)"
    wait_until 5 left done0 >/dev/null || left done0
}

t_exit_fail() {
    systemctl start berth@fail3.service || { diag berth@fail3.service; fail "start failed"; }
    # exit 3 one second after READY=1: systemd must see the failure, or Restart=on-failure
    # never restarts a crashed container.
    wait_until 15 not_running berth@fail3.service || fail "still $(prop berth@fail3.service ActiveState)"
    diag berth@fail3.service
    [ "$(prop berth@fail3.service ActiveState)" = failed ] ||
        fail "exit 3 after READY=1: ActiveState $(prop berth@fail3.service ActiveState), Result $(prop berth@fail3.service Result)"
    [ "$(prop berth@fail3.service Result)" = exit-code ] || fail "Result: $(prop berth@fail3.service Result)"
    wait_until 5 left fail3 >/dev/null || left fail3
}

t_no_ready() {
    if systemctl start berth@noready.service 2>/dev/null; then
        fail "start succeeded without READY=1"
    fi
    [ "$(prop berth@noready.service ActiveState)" = failed ] || fail "ActiveState: $(prop berth@noready.service ActiveState)"
    [ "$(prop berth@noready.service ExecMainStatus)" = 5 ] || fail "ExecMainStatus: $(prop berth@noready.service ExecMainStatus)"
    wait_until 5 left noready >/dev/null || left noready
}

t_socket() {
    local got
    systemctl start berth@sock.socket || fail "the socket unit did not start"
    inactive berth@sock.service || fail "the service runs before any connection"
    got=$(timeout 30 bash -c 'exec 7<>/dev/tcp/127.0.0.1/8765 && cat <&7')
    echo "client got: $got"
    [ "$got" = "hello from fd 3" ] || { diag berth@sock.service; cat "$W/log/sock.log"; fail "no reply from the container"; }
    grep -qx LISTEN_FDS=1 "$W/log/sock.env" || fail "env: $(cat "$W/log/sock.env")"
    grep -qx LISTEN_PID=1 "$W/log/sock.env" || fail "env: $(cat "$W/log/sock.env")"
    wait_until 15 not_running berth@sock.service || fail "the service did not end after serving"
    systemctl stop berth@sock.socket
    wait_until 5 left sock >/dev/null || left sock
}

t_no_leftovers() {
    local n
    for n in web plain stubborn done0 fail3 noready sock; do
        systemctl stop "berth@$n.service" 2>/dev/null
        left "$n" || return 1
    done
    [ -z "$(ls -A "$ROOT" 2>/dev/null)" ] || fail "left in $ROOT: $(ls -A "$ROOT")"
    n=$(pgrep -c -x berth || true)
    [ "$n" -eq 0 ] || fail "berth processes: $(pgrep -a -x berth)"
}

guest() {
    local n=0 entry fn desc out rc t0
    B=$1/berth
    H=$1/tests/helpers/berth-testhelper
    PREPARED=$2
    t0=$(date +%s%N)
    guest_setup >"$W.setup.log" 2>&1
    rc=$?
    out=$(cat "$W.setup.log")
    echo "# setup took $((($(date +%s%N) - t0) / 1000000)) ms"
    if [ "$rc" -ne 0 ]; then
        for entry in "${TESTS[@]}"; do
            n=$((n + 1))
            echo "not ok $n - ${entry#*|}"
        done
        echo "# setup failed:"
        sed 's/^/#   /' <<<"$out"
        return 1
    fi
    for entry in "${TESTS[@]}"; do
        n=$((n + 1))
        fn=${entry%%|*}
        desc=${entry#*|}
        t0=$(date +%s%N)
        out=$( (set -e; "$fn") 2>&1)
        rc=$?
        out+=$'\n'"($((($(date +%s%N) - t0) / 1000000)) ms)"
        if [ "$rc" -eq 0 ]; then echo "ok $n - $desc"; else echo "not ok $n - $desc"; fi
        [ -z "$out" ] || sed 's/^/#   /' <<<"$out"
    done
}

if [ "${1:-}" = --guest ]; then
    [ "${BERTH_VM:-}" = 1 ] || { echo "--guest runs inside the VM only" >&2; exit 2; }
    [ "$(cat /proc/1/comm)" = systemd ] || { echo "--guest needs systemd as pid 1 (run.sh --systemd)" >&2; exit 2; }
    guest "$2" "$3"
    exit 0
fi

# ------------------------------------------------------------------------------- on the host
build=$(cd "${1:-${BERTH_BUILD_DIR:-.}}" && pwd -P)
total=${#TESTS[@]}
echo "1..$total"
if [ ! -x "$build/berth" ] || [ ! -x "$build/tests/helpers/berth-testhelper" ]; then
    echo "not ok 1 - berth and berth-testhelper are built in $build"
    exit 1
fi
tmp=$(mktemp -d)
# The rootfs and bundles, where the guest sees them (the host's / is its root; /tmp is its own).
prepared=$(mktemp -d "$build/.systemd-suite.XXXXXX")
trap 'rm -rf "$tmp" "$prepared"' EXIT
B=$build/berth H=$build/tests/helpers/berth-testhelper
if ! host_prepare "$prepared" >"$tmp/prepare.log" 2>&1; then
    echo "not ok 1 - making the rootfs and the bundles"
    sed 's/^/# /' "$tmp/prepare.log"
    exit 1
fi
rc=0
# run.sh runs the job from the current directory, which must not be one of the guest's tmpfs.
(cd "$src" && "$here/run.sh" --systemd --timeout 900 "$self" --guest "$build" "$prepared") \
    >"$tmp/out" 2>"$tmp/err" || rc=$?
seen=$(grep -cE '^(not )?ok [0-9]+ ' "$tmp/out")
if [ "$seen" -eq 0 ] && [ "$rc" -eq 125 ] && grep -q 'missing packages' "$tmp/err"; then
    reason=$(grep -m1 'missing packages' "$tmp/err")
    for ((i = 1; i <= total; i++)); do
        echo "ok $i - ${TESTS[i - 1]#*|} # SKIP the VM cannot run here: $reason"
    done
    exit 0
fi
cat "$tmp/out"
for ((i = seen + 1; i <= total; i++)); do
    echo "not ok $i - ${TESTS[i - 1]#*|} # the VM ended before this test (run.sh exit $rc)"
done
if [ "$rc" -ne 0 ] || [ "$seen" -lt "$total" ]; then
    sed 's/^/# vm: /' "$tmp/err"
fi
! grep -q '^not ok' "$tmp/out" && [ "$seen" -eq "$total" ]
