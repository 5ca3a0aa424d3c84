#!/usr/bin/env bats
# create / start / state / list / kill / delete / run, container ids, exit codes, signals,
# and the status of a container whose process is gone or whose pid was reused.

# jq filters and container-side shell code are single-quoted on purpose:
# shellcheck disable=SC2016

load helpers
bats_require_minimum_version 1.5.0

setup() {
    berth_setup
    cd "$BERTH_BUNDLE" || return 1
}

teardown() {
    berth_teardown
}

# A container that runs until the test creates /go in its rootfs.
wait_for_go() {
    update_config '.root.readonly = false'
    set_args sh -c 'while [ ! -e /go ]; do sleep 0.02; done; echo done'
}

same_file() {
    [ "$(stat -Lc %d:%i "$1")" = "$(stat -Lc %d:%i "$2")" ]
}

rfc3339_to_epoch() {
    date -d "$1" +%s
}

@test "lifecycle: create, start, exit by itself, delete; state at every step" {
    wait_for_go
    id=$(container_id)
    before=$(date +%s)
    berth create "$id" >"$BATS_TEST_TMPDIR/out" 2>&1

    run berth state "$id"
    [ "$status" -eq 0 ]
    s=$output
    [ "$(jq -r .ociVersion <<<"$s")" = "$("$BERTH" features | jq -r .ociVersionMax)" ]
    [ "$(jq -r .id <<<"$s")" = "$id" ]
    [ "$(jq -r .status <<<"$s")" = created ]
    pid=$(jq -r .pid <<<"$s")
    [ "$pid" -gt 0 ]
    [ -d "/proc/$pid" ]
    [ "$(jq -r .bundle <<<"$s")" = "$(realpath "$BERTH_BUNDLE")" ]
    [ "$(jq -r .rootfs <<<"$s")" = "$(realpath "$ROOTFS")" ]
    [ "$(jq -r .owner <<<"$s")" = "" ]
    created=$(rfc3339_to_epoch "$(jq -r .created <<<"$s")")
    [ "$created" -ge $((before - 1)) ]
    [ "$created" -le $(($(date +%s) + 1)) ]
    # The user program has not run yet.
    [ ! -s "$BATS_TEST_TMPDIR/out" ]

    berth start "$id"
    run berth state "$id"
    [ "$(jq -r .status <<<"$output")" = running ]
    [ "$(jq -r .pid <<<"$output")" = "$pid" ]
    [ "$(jq -r .created <<<"$output")" = "$(jq -r .created <<<"$s")" ]
    # start returns once the process is released; the exec follows at once.
    retry 50 0.02 same_file "/proc/$pid/exe" "$ROOTFS/bin/busybox"

    touch "$ROOTFS/go"
    wait_for_status "$id" stopped
    run berth state "$id"
    [ "$(jq -r .pid <<<"$output")" = 0 ]
    [ "$(jq -r .status <<<"$output")" = stopped ]
    [ "$(cat "$BATS_TEST_TMPDIR/out")" = "done" ]

    berth delete "$id"
    run berth state "$id"
    [ "$status" -eq 1 ]
    [[ $output == *"container $id does not exist"* ]]
    assert_nothing_left
}

@test "lifecycle: state prints runc's fields in runc's order" {
    set_args sleep 100
    id=$(container_id)
    berth create "$id"
    run --separate-stderr berth state "$id"
    [ "$status" -eq 0 ]
    [ "$(jq -r 'keys_unsorted | join(",")' <<<"$output")" = \
        "ociVersion,id,pid,status,bundle,rootfs,created,owner" ]
    # Indented like runc's (two spaces), no trailing newline.
    [ "${lines[1]:0:3}" = '  "' ]
    [ "$(berth state "$id" | tail -c1 | od -An -c | tr -d ' ')" = "}" ]
}

@test "lifecycle: state with annotations puts them where runc does, before owner" {
    set_args sleep 100
    update_config '.annotations = {"org.example.b": "2", "org.example.a": "1"}'
    id=$(container_id)
    berth create "$id"
    run berth state "$id"
    [ "$status" -eq 0 ]
    [ "$(jq -c .annotations <<<"$output")" = '{"org.example.a":"1","org.example.b":"2"}' ]
    [ "$(jq -r 'keys_unsorted | join(",")' <<<"$output")" = \
        "ociVersion,id,pid,status,bundle,rootfs,created,annotations,owner" ]
}

@test "lifecycle: list shows a table, json (null when empty) and ids" {
    run --separate-stderr berth list
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ ${lines[0]} =~ ^ID\ +PID\ +STATUS\ +BUNDLE\ +CREATED\ +OWNER$ ]]
    run --separate-stderr berth list --format json
    [ "$status" -eq 0 ]
    [ "$output" = null ]
    run --separate-stderr berth list -q
    [ "$status" -eq 0 ]
    [ -z "$output" ]

    wait_for_go
    a=$(container_id a)
    b=$(container_id b)
    berth create "$b"
    berth create "$a"
    berth start "$a"
    pida=$(state_field "$a" .pid)
    pidb=$(state_field "$b" .pid)

    run --separate-stderr berth list
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 3 ]
    header=${lines[0]}
    # Columns line up under the header like Go's tabwriter (runc's table).
    for col in PID STATUS BUNDLE CREATED OWNER; do
        prefix=${header%%"$col"*}
        for row in "${lines[1]}" "${lines[2]}"; do
            [ "${row:${#prefix}-1:1}" = " " ] && [ "${row:${#prefix}:1}" != " " ] || {
                echo "column $col is not aligned in: $row"
                return 1
            }
        done
    done
    read -r -a f <<<"${lines[1]}"
    [ "${f[0]}" = "$a" ]
    [ "${f[1]}" = "$pida" ]
    [ "${f[2]}" = running ]
    [ "${f[3]}" = "$(realpath "$BERTH_BUNDLE")" ]
    [ "${f[5]}" = root ]
    read -r -a f <<<"${lines[2]}"
    [ "${f[0]}" = "$b" ]
    [ "${f[1]}" = "$pidb" ]
    [ "${f[2]}" = created ]

    run --separate-stderr berth list --format json
    [ "$status" -eq 0 ]
    [ "$(jq -r 'length' <<<"$output")" = 2 ]
    [ "$(jq -r '.[0] | keys_unsorted | join(",")' <<<"$output")" = \
        "ociVersion,id,pid,status,bundle,rootfs,created,owner" ]
    [ "$(jq -r 'map(.id + "=" + .status) | join(" ")' <<<"$output")" = "$a=running $b=created" ]
    [ "$(jq -r '.[0].owner' <<<"$output")" = root ]
    [ "$(jq -r '.[1].pid' <<<"$output")" = "$pidb" ]

    run --separate-stderr berth list -f json
    [ "$(jq -r 'length' <<<"$output")" = 2 ]
    run --separate-stderr berth list --format table
    [ "${#lines[@]}" -eq 3 ]

    run --separate-stderr berth list -q
    [ "$status" -eq 0 ]
    [ "$output" = "$a"$'\n'"$b" ]
    run --separate-stderr berth list --quiet
    [ "$output" = "$a"$'\n'"$b" ]

    # A stopped container is listed with pid 0.
    touch "$ROOTFS/go"
    wait_for_status "$a" stopped
    run berth list --format json
    [ "$(jq -r '.[0].status + " " + (.[0].pid | tostring)' <<<"$output")" = "stopped 0" ]
    run berth list
    read -r -a f <<<"${lines[1]}"
    [ "${f[1]}" = 0 ]
    [ "${f[2]}" = stopped ]
}

@test "lifecycle: --pid-file holds the container's pid" {
    set_args sleep 100
    id=$(container_id)
    berth create --pid-file "$BATS_TEST_TMPDIR/pid" "$id"
    [ "$(cat "$BATS_TEST_TMPDIR/pid")" = "$(state_field "$id" .pid)" ]
    # runc writes the number without a newline.
    [ "$(wc -l <"$BATS_TEST_TMPDIR/pid")" -eq 0 ]

    # A relative path is relative to the caller's working directory.
    berth create --pid-file relative.pid "$(container_id 2)"
    [ "$(cat "$BERTH_BUNDLE/relative.pid")" = "$(state_field "$(container_id 2)" .pid)" ]

    # run -d too.
    berth run -d --pid-file "$BATS_TEST_TMPDIR/pid3" "$(container_id 3)"
    [ "$(cat "$BATS_TEST_TMPDIR/pid3")" = "$(state_field "$(container_id 3)" .pid)" ]
}

@test "lifecycle: kill sends the named or numbered signal, SIGTERM by default" {
    set_args "$TESTHELPER" signals
    id=$(container_id)
    out=$BATS_TEST_TMPDIR/out
    berth create "$id" >"$out" 2>&1
    berth start "$id"
    wait_for_file "$out" '^ready$'
    berth kill "$id" HUP
    wait_for_file "$out" '^got SIGHUP$'
    berth kill "$id" SIGUSR1
    wait_for_file "$out" '^got SIGUSR1$'
    berth kill "$id" 12
    wait_for_file "$out" '^got SIGUSR2$'
    berth kill "$id" int
    wait_for_file "$out" '^got SIGINT$'
    berth kill "$id" sigquit
    wait_for_file "$out" '^got SIGQUIT$'
    [ "$(state_field "$id" .status)" = running ]
    berth kill "$id"
    wait_for_file "$out" '^got SIGTERM$'
    wait_for_status "$id" stopped

    run --separate-stderr berth kill "$id" KILL
    [ "$status" -eq 1 ]
    [[ $stderr == *"container $id is stopped"* ]]
    berth delete "$id"
}

@test "lifecycle: kill KILL, SIGKILL and 9 stop a running container" {
    set_args sleep 1000
    for sig in KILL SIGKILL 9; do
        id=$(container_id "$sig")
        berth run -d "$id"
        pid=$(state_field "$id" .pid)
        berth kill "$id" "$sig"
        wait_for_status "$id" stopped
        retry 50 0.02 pid_gone "$pid"
        berth delete "$id"
    done
    run --separate-stderr berth kill "$(container_id)" NOSUCHSIG
    [ "$status" -eq 1 ]
    [[ $stderr == *'unknown signal "NOSUCHSIG"'* ]]
    run --separate-stderr berth kill no-such-container KILL
    [ "$status" -eq 1 ]
    [[ $stderr == *"container no-such-container does not exist"* ]]
    assert_nothing_left
}

@test "lifecycle: kill of a created container stops it" {
    set_args sleep 1000
    id=$(container_id)
    berth create "$id"
    berth kill "$id" TERM
    wait_for_status "$id" stopped
    berth delete "$id"
    assert_nothing_left
}

@test "lifecycle: kill --all signals every process of the container" {
    # Without a pid namespace of its own, children outlive the container's first process.
    update_config '.linux.namespaces |= map(select(.type != "pid"))'
    set_args sh -c 'sleep 1001 & sleep 1002 & echo started; wait'
    id=$(container_id)
    out=$BATS_TEST_TMPDIR/out
    berth run -d "$id" >"$out" 2>&1
    wait_for_file "$out" '^started$'
    pid=$(state_field "$id" .pid)
    kids=$(pgrep -P "$pid" | tr '\n' ' ')
    [ "$(wc -w <<<"$kids")" -eq 2 ]

    berth kill --all "$id" KILL
    wait_for_status "$id" stopped
    for k in $kids; do
        retry 50 0.02 pid_gone "$k" || {
            # shellcheck disable=SC2086 # a list of pids
            kill -KILL $kids 2>/dev/null || true
            echo "child $k survived kill --all"
            return 1
        }
    done
    berth delete "$id"
    assert_nothing_left
}

@test "lifecycle: delete refuses a running container without --force, does it with" {
    set_args sleep 1000
    id=$(container_id)
    berth run -d "$id"
    pid=$(state_field "$id" .pid)
    run --separate-stderr berth delete "$id"
    [ "$status" -eq 1 ]
    [[ $stderr == *"cannot delete container $id that is not stopped: running"* ]]
    [ "$(state_field "$id" .status)" = running ]
    run ! pid_gone "$pid"

    run berth delete --force "$id"
    [ "$status" -eq 0 ]
    pid_gone "$pid"
    assert_nothing_left

    berth run -d "$id"
    berth delete -f "$id"
    assert_nothing_left
}

@test "lifecycle: delete of a created container removes it and its process" {
    set_args sleep 1000
    id=$(container_id)
    berth create "$id"
    pid=$(state_field "$id" .pid)
    run berth delete "$id"
    [ "$status" -eq 0 ]
    retry 50 0.02 pid_gone "$pid"
    assert_nothing_left

    run --separate-stderr berth delete "$id"
    [ "$status" -eq 1 ]
    [[ $stderr == *"container $id does not exist"* ]]
}

@test "lifecycle: a second create with a taken id fails and leaves the first untouched" {
    wait_for_go
    id=$(container_id)
    berth create "$id" >"$BATS_TEST_TMPDIR/out" 2>&1
    pid=$(state_field "$id" .pid)
    state_before=$(sha256sum <"$BERTH_ROOT/$id/state.json")

    run_files berth create "$id"
    [ "$status" -eq 1 ]
    [[ $stderr == *"container $id already exists"* ]]
    run --separate-stderr berth run "$id"
    [ "$status" -eq 1 ]
    [[ $stderr == *"container $id already exists"* ]]

    [ "$(sha256sum <"$BERTH_ROOT/$id/state.json")" = "$state_before" ]
    [ "$(state_field "$id" .status)" = created ]
    [ "$(state_field "$id" .pid)" = "$pid" ]
    [ -p "$BERTH_ROOT/$id/exec.fifo" ]
    berth start "$id"
    [ "$(state_field "$id" .status)" = running ]
    touch "$ROOTFS/go"
    wait_for_status "$id" stopped
    [ "$(cat "$BATS_TEST_TMPDIR/out")" = "done" ]
}

@test "lifecycle: invalid container ids are refused and create nothing" {
    set_args true
    long=$(printf 'a%.0s' {1..1025})
    for bad in ../x -a "" "$long" a/b .hidden _x "a b" 'a$b' "a:b" "x/../../etc"; do
        run_files berth create -- "$bad"
        [ "$status" -eq 1 ] || {
            echo "create '$bad' exited $status"
            return 1
        }
        case $bad in
        "") [[ $stderr == *"container id is empty"* ]] ;;
        "$long") [[ $stderr == *"at most 1024"* ]] ;;
        *) [[ $stderr == *"invalid container id"* ]] ;;
        esac
        run --separate-stderr berth run -- "$bad"
        [ "$status" -eq 1 ]
        for cmd in state start delete kill; do
            run --separate-stderr berth "$cmd" -- "$bad"
            [ "$status" -eq 1 ]
            [ -n "$stderr" ]
        done
        assert_root_empty
    done
    # Without "--", -a is an option create does not have.
    run_files berth create -a
    [ "$status" -eq 1 ]
    [[ $stderr == *"unknown option -a"* ]]
    [ ! -e "$BERTH_ROOT/../x" ]
    assert_nothing_left
}

@test "lifecycle: every id character class and 1024 bytes are accepted" {
    set_args sleep 1000
    for good in a Z9 "1.2+3_4-5" "$(printf 'x%.0s' {1..255})"; do
        berth create "$good"
        [ "$(state_field "$good" .id)" = "$good" ]
        berth delete "$good"
    done
    max=$(printf 'b%.0s' {1..1024})
    run_files berth create "$max"
    [ "$status" -eq 0 ] || {
        echo "create of a 1024-byte id failed: $stderr"
        return 1
    }
    [ "$(state_field "$max" .status)" = created ]
    [ "$(berth list -q)" = "$max" ]
    berth delete --force "$max"
    assert_nothing_left
}

@test "lifecycle: run exits with the process's status and removes the container" {
    set_args true
    run berth run "$(container_id)"
    [ "$status" -eq 0 ]
    set_args sh -c 'exit 7'
    run berth run "$(container_id)"
    [ "$status" -eq 7 ]
    set_args sh -c 'echo out; echo err >&2; exit 255'
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 255 ]
    [ "$output" = out ]
    [ "$stderr" = err ]
    # Killed by a signal: 128+N. SEGV by a real fault (pid 1 ignores signals it sent itself).
    set_args "$TESTHELPER" kill-self SEGV
    run berth run "$(container_id)"
    [ "$status" -eq 139 ]
    assert_nothing_left
}

@test "lifecycle: run exits 128+9 when the container is killed from outside" {
    set_args sleep 1000
    id=$(container_id)
    berth run "$id" &
    runpid=$!
    wait_for_status "$id" running
    berth kill "$id" KILL
    status=0
    wait "$runpid" || status=$?
    [ "$status" -eq 137 ]
    assert_nothing_left
}

@test "lifecycle: run -d returns at once with the container running; delete ends it" {
    set_args sh -c 'echo hello; exec sleep 1000'
    id=$(container_id)
    out=$BATS_TEST_TMPDIR/out
    SECONDS=0
    berth run -d "$id" >"$out" 2>&1
    [ "$SECONDS" -lt 5 ]
    [ "$(state_field "$id" .status)" = running ]
    wait_for_file "$out" '^hello$'
    berth run --detach "$(container_id 2)" >/dev/null 2>&1
    [ "$(state_field "$(container_id 2)" .status)" = running ]
    berth delete --force "$id"
    berth delete --force "$(container_id 2)"
    assert_nothing_left
}

@test "lifecycle: run --keep keeps the stopped container's state" {
    set_args sh -c 'exit 3'
    id=$(container_id)
    run berth run --keep "$id"
    [ "$status" -eq 3 ]
    [ "$(state_field "$id" .status)" = stopped ]
    [ "$(state_field "$id" .pid)" = 0 ]
    [ "$(berth list -q)" = "$id" ]
    berth delete "$id"
    assert_nothing_left
}

@test "lifecycle: run forwards SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2" {
    set_args "$TESTHELPER" signals
    id=$(container_id)
    out=$BATS_TEST_TMPDIR/out
    # berth itself, not a subshell running the berth() function, must get the signals
    "$BERTH" --root "$BERTH_ROOT" run "$id" >"$out" 2>&1 &
    runpid=$!
    wait_for_file "$out" '^ready$'
    for sig in HUP INT QUIT USR1 USR2; do
        kill -s "$sig" "$runpid"
        wait_for_file "$out" "^got SIG$sig\$" || {
            kill -KILL "$runpid"
            return 1
        }
    done
    [ "$(state_field "$id" .status)" = running ]
    kill -s TERM "$runpid"
    status=0
    wait "$runpid" || status=$?
    grep -qx 'got SIGTERM' "$out"
    [ "$status" -eq 0 ]
    assert_nothing_left
}

@test "lifecycle: start of a running, a stopped or a missing container fails with a message" {
    wait_for_go
    id=$(container_id)
    berth create "$id"
    berth start "$id"
    run --separate-stderr berth start "$id"
    [ "$status" -eq 1 ]
    [[ $stderr == *"cannot start container $id: it is running, not created"* ]]
    touch "$ROOTFS/go"
    wait_for_status "$id" stopped
    run --separate-stderr berth start "$id"
    [ "$status" -eq 1 ]
    [[ $stderr == *"cannot start container $id: it is stopped, not created"* ]]
    run --separate-stderr berth start no-such-container
    [ "$status" -eq 1 ]
    [[ $stderr == *"container no-such-container does not exist"* ]]
}

@test "lifecycle: a recorded pid whose start time differs (pid reuse) means stopped" {
    set_args sleep 1000
    id=$(container_id)
    berth run -d "$id"
    pid=$(state_field "$id" .pid)
    st=$BERTH_ROOT/$id/state.json
    cp "$st" "$BATS_TEST_TMPDIR/state.orig"
    # The same pid, but not the process berth started: another boot or a reused pid.
    jq -c '.berth.pidStart += 1' "$BATS_TEST_TMPDIR/state.orig" >"$st"
    run berth state "$id"
    [ "$(jq -r .status <<<"$output")" = stopped ]
    [ "$(jq -r .pid <<<"$output")" = 0 ]
    [ "$(berth list --format json | jq -r '.[0].status')" = stopped ]
    # ... and berth does not signal the process that now has that pid.
    run --separate-stderr berth kill "$id" KILL
    [ "$status" -eq 1 ]
    run ! pid_gone "$pid"

    jq -c '.berth.bootId = "00000000-0000-0000-0000-000000000000"' "$BATS_TEST_TMPDIR/state.orig" >"$st"
    [ "$(state_field "$id" .status)" = stopped ]

    cp "$BATS_TEST_TMPDIR/state.orig" "$st"
    [ "$(state_field "$id" .status)" = running ]
    berth delete --force "$id"
    assert_nothing_left
}

@test "lifecycle: a created container whose process is killed from outside is stopped" {
    set_args true
    id=$(container_id)
    berth create "$id"
    pid=$(state_field "$id" .pid)
    kill -KILL "$pid"
    wait_for_status "$id" stopped
    run --separate-stderr berth start "$id"
    [ "$status" -eq 1 ]
    [[ $stderr == *"it is stopped, not created"* ]]
    berth delete "$id"
    assert_nothing_left
}

@test "lifecycle: concurrent starts of one container: exactly one succeeds" {
    update_config '.root.readonly = false'
    set_args sh -c 'echo started >>/starts'
    id=$(container_id)
    berth create "$id"
    pids=()
    for i in 1 2 3 4; do
        "$BERTH" --root "$BERTH_ROOT" start "$id" >"$BATS_TEST_TMPDIR/start$i" 2>&1 &
        pids+=($!)
    done
    ok=0
    for p in "${pids[@]}"; do
        if wait "$p"; then ok=$((ok + 1)); fi
    done
    [ "$ok" -eq 1 ]
    wait_for_status "$id" stopped
    [ "$(cat "$ROOTFS/starts")" = started ]
}

@test "lifecycle: concurrent creates with one id: exactly one container" {
    set_args sleep 1000
    id=$(container_id)
    pids=()
    for i in 1 2 3 4 5; do
        "$BERTH" --root "$BERTH_ROOT" create "$id" >/dev/null 2>"$BATS_TEST_TMPDIR/create$i" &
        pids+=($!)
    done
    ok=0
    for p in "${pids[@]}"; do
        if wait "$p"; then ok=$((ok + 1)); fi
    done
    [ "$ok" -eq 1 ]
    [ "$(grep -l "container $id already exists" "$BATS_TEST_TMPDIR"/create* | wc -l)" -eq 4 ]
    [ "$(state_field "$id" .status)" = created ]
    # One process, one cgroup.
    [ "$(berth list -q)" = "$id" ]
    berth delete "$id"
    assert_nothing_left
}

@test "lifecycle: a state directory without state (an interrupted create) needs delete --force" {
    mkdir "$BERTH_ROOT/leftover"
    run --separate-stderr berth list -q
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    run --separate-stderr berth state leftover
    [ "$status" -eq 1 ]
    [[ $stderr == *"container leftover has no state yet"* ]]
    run --separate-stderr berth delete leftover
    [ "$status" -eq 1 ]
    [[ $stderr == *"use delete --force to remove it"* ]]
    [ -d "$BERTH_ROOT/leftover" ]
    berth delete --force leftover
    assert_root_empty
}
