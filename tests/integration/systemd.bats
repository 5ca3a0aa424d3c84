#!/usr/bin/env bats
# What systemd needs from `berth run` in a unit: the sd_notify relay (NOTIFY_SOCKET: READY=1
# and STATUS= reach the caller's socket with MAINPID set to the container's process; run -d
# and start return only after READY=1; the container reaches its own socket and nothing
# else), socket activation (LISTEN_FDS/LISTEN_PID) and the stop signal (SIGTERM to berth
# becomes the image's org.opencontainers.image.stopSignal). A datagram socket of the
# test stands in for systemd; tests/vm/systemd-suite.sh does it with the real one.

# jq filters and container-side shell code are single-quoted on purpose:
# shellcheck disable=SC2016

load helpers
bats_require_minimum_version 1.5.0

setup() {
    berth_setup
    cd "$BERTH_BUNDLE" || return 1
    RECV_PID=
}

teardown() {
    local p
    for p in ${RECV_PID:-} ${ACTIVATOR_PID:-}; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    berth_teardown
}

# ---------------------------------------------------------------------------------------------
# sd_notify

# notify_listen PATH [COUNT=1] [TIMEOUT=20]: a datagram socket at PATH standing in for
# systemd's (@name: abstract); what arrives goes to $RECV_OUT, one line per line of each
# message. NOTIFY_SOCKET is exported for berth.
notify_listen() {
    RECV_OUT=$BATS_TEST_TMPDIR/notify.out
    "$BERTH_TESTHELPER" notify-recv "$1" "${2:-1}" "${3:-20}" >"$RECV_OUT" \
        2>"$BATS_TEST_TMPDIR/notify.err" &
    RECV_PID=$!
    wait_for_file "$BATS_TEST_TMPDIR/notify.err" '^listening '
    export NOTIFY_SOCKET=$1
}

# notify_wait: until the receiver got its COUNT messages and exited.
notify_wait() {
    local status=0
    wait "$RECV_PID" || status=$?
    RECV_PID=
    [ "$status" -eq 0 ] || {
        echo "notify-recv: exit $status: $(cat "$BATS_TEST_TMPDIR/notify.err"); got:" >&2
        cat "$RECV_OUT" >&2
        return 1
    }
}

# run_expect_ready: `berth run` the container in the foreground; it succeeds and the
# listener got READY=1 with MAINPID = the container's pid. $output is run's.
run_expect_ready() {
    run --separate-stderr berth run --pid-file "$BATS_TEST_TMPDIR/pid" "$(container_id)"
    [ "$status" -eq 0 ] || {
        echo "exit $status: $stderr"
        return 1
    }
    notify_wait
    grep -qx READY=1 "$RECV_OUT"
    grep -qx "MAINPID=$(cat "$BATS_TEST_TMPDIR/pid")" "$RECV_OUT"
}

@test "sd_notify: run relays READY=1 and STATUS= to NOTIFY_SOCKET with MAINPID = the container's pid" {
    notify_listen "$BATS_TEST_TMPDIR/notify.sock" 2
    set_args sh -c "test -S \"\$NOTIFY_SOCKET\" && echo socket; $TESTHELPER sdnotify 'STATUS=warming up' READY=1"
    run --separate-stderr berth run --pid-file "$BATS_TEST_TMPDIR/pid" "$(container_id)"
    [ "$status" -eq 0 ] || {
        echo "exit $status: $stderr"
        return 1
    }
    notify_wait
    cat "$RECV_OUT"
    pid=$(cat "$BATS_TEST_TMPDIR/pid")
    [ "$pid" -gt 0 ]
    # Every message carries MAINPID: the container's process as the host sees it.
    [ "$(grep -c '^MAINPID=' "$RECV_OUT")" -eq 2 ]
    [ "$(grep '^MAINPID=' "$RECV_OUT" | sort -u)" = "MAINPID=$pid" ]
    grep -qx 'STATUS=warming up' "$RECV_OUT"
    grep -qx 'READY=1' "$RECV_OUT"
    # STATUS before READY, as sent.
    [ "$(grep -n 'STATUS=' "$RECV_OUT" | cut -d: -f1)" -lt "$(grep -n 'READY=1' "$RECV_OUT" | cut -d: -f1)" ]
    # The container's NOTIFY_SOCKET is a socket it can reach.
    grep -qx socket <<<"$output"
    grep -qx 'sent READY=1' <<<"$output"
    assert_nothing_left
}

@test "sd_notify: messages after READY=1 are relayed too while run is in the foreground" {
    notify_listen "$BATS_TEST_TMPDIR/notify.sock" 3
    set_args sh -c "$TESTHELPER sdnotify READY=1; sleep 0.3; $TESTHELPER sdnotify STATUS=busy; sleep 0.3;
        $TESTHELPER sdnotify STOPPING=1"
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ]
    notify_wait
    [ "$(grep -v '^MAINPID=' "$RECV_OUT" | tr '\n' ' ')" = "READY=1 STATUS=busy STOPPING=1 " ]
}

@test "sd_notify: run -d returns only after READY=1, and the container keeps running" {
    notify_listen "$BATS_TEST_TMPDIR/notify.sock" 1
    set_args sh -c "sleep 1.5; $TESTHELPER sdnotify READY=1; exec $TESTHELPER sleep inf"
    id=$(container_id)
    start=$(date +%s%N)
    run_files berth run -d --pid-file "$BATS_TEST_TMPDIR/pid" "$id"
    took=$((($(date +%s%N) - start) / 1000000))
    [ "$status" -eq 0 ] || {
        echo "exit $status: $stderr"
        return 1
    }
    echo "run -d took $took ms"
    [ "$took" -ge 1400 ]
    # READY=1 was already there when run -d returned.
    grep -qx READY=1 "$RECV_OUT"
    grep -qx "MAINPID=$(cat "$BATS_TEST_TMPDIR/pid")" "$RECV_OUT"
    notify_wait
    [ "$(state_field "$id" .status)" = running ]
    [ "$(state_field "$id" .pid)" = "$(cat "$BATS_TEST_TMPDIR/pid")" ]

    # Without NOTIFY_SOCKET, run -d does not wait for the container.
    unset NOTIFY_SOCKET
    id2=$(container_id 2)
    start=$(date +%s%N)
    run_files berth run -d "$id2"
    [ "$status" -eq 0 ]
    [ $((($(date +%s%N) - start) / 1000000)) -lt 1400 ]
}

@test "sd_notify: create, then start returns only after READY=1" {
    notify_listen "$BATS_TEST_TMPDIR/notify.sock" 1
    set_args sh -c "sleep 1; $TESTHELPER sdnotify READY=1; exec $TESTHELPER sleep inf"
    id=$(container_id)
    run_files berth create "$id"
    [ "$status" -eq 0 ] || {
        echo "$stderr"
        return 1
    }
    start=$(date +%s%N)
    run_files berth start "$id"
    [ "$status" -eq 0 ] || {
        echo "$stderr"
        return 1
    }
    [ $((($(date +%s%N) - start) / 1000000)) -ge 900 ]
    notify_wait
    grep -qx READY=1 "$RECV_OUT"
    grep -qx "MAINPID=$(state_field "$id" .pid)" "$RECV_OUT"
}

@test "sd_notify: run -d fails clearly when the container exits before READY=1" {
    notify_listen "$BATS_TEST_TMPDIR/notify.sock" 1 5
    set_args sh -c 'exit 4'
    id=$(container_id)
    run_files timeout 20 "$BERTH" --root "$BERTH_ROOT" run -d "$id"
    [ "$status" -eq 1 ]
    [[ $stderr == *"exited before it sent READY=1"* ]]
    # Nothing runs on, whatever state is left for `delete`.
    run berth state "$id"
    [ "$status" -ne 0 ] || [ "$(jq -r .status <<<"$output")" = stopped ]
}

@test "sd_notify: the container reaches its own socket only, not the rest of the directory" {
    dir=$BATS_TEST_TMPDIR/sd
    mkdir "$dir"
    echo secret >"$dir/host-file"
    # Another socket beside systemd's: the container must not be able to send to it.
    "$BERTH_TESTHELPER" notify-recv "$dir/other.sock" 1 5 >"$BATS_TEST_TMPDIR/other.out" \
        2>"$BATS_TEST_TMPDIR/other.err" &
    other=$!
    wait_for_file "$BATS_TEST_TMPDIR/other.err" '^listening '
    notify_listen "$dir/notify.sock" 1
    set_args sh -c "ls -A \"\$(dirname \"\$NOTIFY_SOCKET\")\"; echo ---;
        NOTIFY_SOCKET=$dir/other.sock $TESTHELPER sdnotify HELLO=other; echo ---;
        $TESTHELPER sdnotify READY=1"
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ] || {
        echo "exit $status: $output $stderr"
        return 1
    }
    notify_wait
    echo "$output"
    # Only its own socket is in the directory it sees.
    [ "${lines[0]}" = notify.sock ]
    [ "${lines[1]}" = --- ]
    # The other host socket cannot be reached.
    [ "${lines[2]}" = ENOENT ]
    status=0
    wait "$other" || status=$?
    [ "$status" -ne 0 ]
    [ ! -s "$BATS_TEST_TMPDIR/other.out" ]
    grep -qx READY=1 "$RECV_OUT"
    # The host's directory is as it was.
    [ "$(ls -A "$dir" | sort | tr '\n' ' ')" = "host-file " ]
    assert_nothing_left
}

@test "sd_notify: the socket's directory does not hide the container's own (NOTIFY_SOCKET=/tmp/NAME)" {
    # systemd's socket is /run/systemd/notify; whatever the path, the container's files at the
    # same place stay visible (runc puts the container's socket in /run/notify/).
    echo mine >"$ROOTFS/tmp/marker"
    sock=/tmp/berth-test-notify-$BERTH_CID.sock
    notify_listen "$sock" 1 10
    set_args sh -c "cat /tmp/marker; $TESTHELPER sdnotify READY=1"
    run --separate-stderr berth run "$(container_id)"
    rm -f "$sock"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = mine ]
    notify_wait
    grep -qx READY=1 "$RECV_OUT"
}

@test "sd_notify: the container cannot write through its socket's directory" {
    # The directory is berth's (in its state); the container may send to the socket, and
    # nothing else: no files there, so it can neither fill berth's filesystem nor plant files.
    notify_listen "$BATS_TEST_TMPDIR/notify.sock" 1
    set_args sh -c 'd=$(dirname "$NOTIFY_SOCKET"); if echo data >"$d/planted"; then echo wrote; else echo refused; fi;
        mkdir "$d/dir" 2>/dev/null && echo mkdir-ok; '"$TESTHELPER sdnotify READY=1"
    run --separate-stderr berth run --keep "$(container_id)"
    [ "$status" -eq 0 ]
    notify_wait
    find "$BERTH_ROOT" -name planted -o -name dir
    [ "${lines[0]}" = refused ]
    ! grep -qx mkdir-ok <<<"$output" || return 1
    [ -z "$(find "$BERTH_ROOT" -name planted -o -name dir)" ]
    berth delete "$(container_id)"
}

@test "sd_notify: a container with a user namespace reaches its socket too" {
    # The container's root is uid 100000 on the host; the test's own directories are opened
    # to it, berth's must be too (runc keeps its state directories 0711 for this).
    allow_traversal "$BERTH_BUNDLE"
    allow_traversal "$BERTH_ROOT"
    update_config '.linux.namespaces += [{type: "user"}] |
        .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}] |
        .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]'
    notify_listen "$BATS_TEST_TMPDIR/notify.sock" 1
    set_args "$TESTHELPER" sdnotify READY=1
    run_expect_ready
}

@test "sd_notify: an abstract NOTIFY_SOCKET (@name) is relayed; the container gets a path" {
    name=@berth-test-notify-$$-$BATS_TEST_NUMBER
    notify_listen "$name" 1
    set_args sh -c "echo \"NOTIFY_SOCKET=\$NOTIFY_SOCKET\"; test -S \"\$NOTIFY_SOCKET\" && echo socket;
        $TESTHELPER sdnotify READY=1"
    run_expect_ready
    # The host's abstract socket lives in the host's network namespace; the container has a
    # socket file of its own.
    grep -qE '^NOTIFY_SOCKET=/' <<<"$output"
    grep -qx socket <<<"$output"
}

@test "sd_notify: without NOTIFY_SOCKET the container has no socket and no such variable" {
    unset NOTIFY_SOCKET
    set_args sh -c 'env | grep -c NOTIFY_SOCKET; grep -c notify /proc/self/mountinfo'
    run --separate-stderr berth run "$(container_id)"
    [ "${lines[0]}" = 0 ]
    [ "${lines[1]}" = 0 ]
}

# ---------------------------------------------------------------------------------------------
# Socket activation

# activate CMD...: systemd-socket-activate listening on 127.0.0.1:$PORT (a free port), which
# starts CMD with the listening socket as fd 3, LISTEN_FDS=1 and LISTEN_PID on the first
# connection. Its output in $ACTIVATOR_OUT.
activate() {
    require_cmd systemd-socket-activate ss
    local _try
    ACTIVATOR_OUT=$BATS_TEST_TMPDIR/activator.out
    for _try in 1 2 3 4 5; do
        PORT=$((20000 + RANDOM % 30000))
        ss -Hltn "sport = :$PORT" | grep -q . && continue
        systemd-socket-activate -l "127.0.0.1:$PORT" "$@" >"$ACTIVATOR_OUT" 2>&1 &
        ACTIVATOR_PID=$!
        if retry 50 0.1 grep -q "Listening on 127.0.0.1:$PORT" "$ACTIVATOR_OUT" 2>/dev/null; then
            return 0
        fi
        kill "$ACTIVATOR_PID" 2>/dev/null || true
        wait "$ACTIVATOR_PID" 2>/dev/null || true
    done
    echo "systemd-socket-activate could not listen: $(cat "$ACTIVATOR_OUT")" >&2
    return 1
}

# tcp_get PORT: connect to 127.0.0.1:PORT and print what the server sends until it closes.
tcp_get() {
    timeout 20 bash -c 'exec 7<>"/dev/tcp/127.0.0.1/$1" && cat <&7' bash "$1"
}

@test "socket activation: a container accepts on the inherited listening socket (fd 3)" {
    set_args sh -c "echo \"env: LISTEN_FDS=\$LISTEN_FDS LISTEN_PID=\$LISTEN_PID\"; $TESTHELPER fds;
        exec $TESTHELPER listen-fds"
    activate "$BERTH" --root "$BERTH_ROOT" run "$(container_id)"
    run tcp_get "$PORT"
    [ "$status" -eq 0 ]
    [ "$output" = "hello from fd 3" ]
    status=0
    wait "$ACTIVATOR_PID" || status=$?
    ACTIVATOR_PID=
    cat "$ACTIVATOR_OUT"
    [ "$status" -eq 0 ]
    grep -qx 'env: LISTEN_FDS=1 LISTEN_PID=1' "$ACTIVATOR_OUT"
    grep -qx '0 1 2 3' "$ACTIVATOR_OUT"
    grep -qx 'LISTEN_FDS: 1' "$ACTIVATOR_OUT"
    grep -qx served "$ACTIVATOR_OUT"
    assert_nothing_left
}

@test "socket activation: the listening fds come first, --preserve-fds after them" {
    echo preserved >"$BATS_TEST_TMPDIR/extra"
    set_args sh -c "$TESTHELPER fds; cat <&4; exec $TESTHELPER listen-fds"
    # The fd to preserve is opened by a shell that then becomes berth (same pid: LISTEN_PID).
    activate bash -c 'exec 4<"$1"; shift; exec "$@"' bash "$BATS_TEST_TMPDIR/extra" \
        "$BERTH" --root "$BERTH_ROOT" run --preserve-fds 1 "$(container_id)"
    run tcp_get "$PORT"
    [ "$output" = "hello from fd 3" ]
    wait "$ACTIVATOR_PID" || true
    ACTIVATOR_PID=
    cat "$ACTIVATOR_OUT"
    grep -qx '0 1 2 3 4' "$ACTIVATOR_OUT"
    grep -qx preserved "$ACTIVATOR_OUT"
    grep -qx served "$ACTIVATOR_OUT"
}

@test "socket activation: LISTEN_FDS meant for another process is not passed on" {
    set_args sh -c "$TESTHELPER fds; env | grep -c LISTEN_; true"
    # LISTEN_PID names someone else (pid 1 of the host): those fds are not berth's to hand on.
    run --separate-stderr bash -c 'exec 3</dev/null; LISTEN_FDS=1 LISTEN_PID=1 exec "$@"' bash \
        "$BERTH" --root "$BERTH_ROOT" run "$(container_id)"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "0 1 2" ]
    [ "${lines[1]}" = 0 ]
}

# ---------------------------------------------------------------------------------------------
# Stop signal

@test "stop signal: SIGTERM to run becomes the image's stopSignal; other signals pass unchanged" {
    update_config '.annotations["org.opencontainers.image.stopSignal"] = "SIGUSR2"'
    set_args "$TESTHELPER" signals
    id=$(container_id)
    out=$BATS_TEST_TMPDIR/out
    "$BERTH" --root "$BERTH_ROOT" run "$id" >"$out" 2>&1 &
    bg=$!
    wait_for_file "$out" '^ready$'
    kill -INT "$bg"
    wait_for_file "$out" '^got SIGINT$'
    kill -TERM "$bg"
    wait_for_file "$out" '^got SIGUSR2$'
    ! grep -q 'got SIGTERM' "$out" || return 1
    # berth kill sends what it is told.
    berth kill "$id" TERM
    status=0
    wait "$bg" || status=$?
    [ "$status" -eq 0 ]
    [ "$(tr '\n' ' ' <"$out")" = "ready got SIGINT got SIGUSR2 got SIGTERM " ]
    assert_nothing_left
}

# stop_test ANNOTATION|-: run a container that exits 0 on SIGQUIT and 9 on SIGTERM, send
# SIGTERM to berth; sets status and output.
stop_test() {
    if [ "$1" != - ]; then
        update_config '.annotations["org.opencontainers.image.stopSignal"] = $s' --arg s "$1"
    fi
    set_args sh -c 'trap "echo stopping on QUIT; exit 0" QUIT; trap "echo got TERM; exit 9" TERM;
        echo ready; while :; do sleep 0.1; done'
    out=$BATS_TEST_TMPDIR/out
    rm -f "$out"
    # exec: the signal must reach berth itself, not a subshell of this function
    (exec "$BERTH" --root "$BERTH_ROOT" run "$(container_id)" >"$out" 2>&1) &
    bg=$!
    wait_for_file "$out" '^ready$'
    kill -TERM "$bg"
    status=0
    wait "$bg" || status=$?
    output=$(cat "$out")
}

@test "stop signal: a container that exits on its stop signal ends run cleanly" {
    for sig in SIGQUIT QUIT 3; do
        stop_test "$sig"
        [ "$status" -eq 0 ] || {
            echo "stopSignal $sig: exit $status: $output"
            return 1
        }
        grep -qx 'stopping on QUIT' <<<"$output"
        assert_nothing_left
    done
}

@test "stop signal: without a stopSignal annotation (or an unknown one) SIGTERM stays SIGTERM" {
    stop_test -
    [ "$status" -eq 9 ]
    grep -qx 'got TERM' <<<"$output"
    stop_test SIGBOGUS
    [ "$status" -eq 9 ]
    grep -qx 'got TERM' <<<"$output"
    assert_nothing_left
}
