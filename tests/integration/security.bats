#!/usr/bin/env bats
# What reaches the container process: exactly fds 0, 1, 2 and the --preserve-fds ones; and
# never the berth binary (CVE-2019-5736: overwriting the runtime through /proc/PID/exe).

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

@test "fds: the container process has exactly 0 1 2, none of berth's or the caller's" {
    set_args "$TESTHELPER" fds
    # Extra fds in the caller (bats itself keeps 3 open, too) and berth's --log file.
    exec 7<"$BERTH_BUNDLE/config.json" 8>"$BATS_TEST_TMPDIR/scratch"
    run --separate-stderr "$BERTH" --root "$BERTH_ROOT" --log "$BATS_TEST_TMPDIR/log" run "$(container_id)"
    exec 7<&- 8>&-
    [ "$status" -eq 0 ]
    [ "$output" = "0 1 2" ]

    # create + start: no exec fifo, no state directory, no sync socket either.
    id=$(container_id 2)
    berth create "$id" >"$BATS_TEST_TMPDIR/out" 2>&1
    berth start "$id"
    wait_for_status "$id" stopped
    [ "$(cat "$BATS_TEST_TMPDIR/out")" = "0 1 2" ]

    # With a terminal-less run -d as well.
    berth run -d "$(container_id 3)" >"$BATS_TEST_TMPDIR/out3" 2>&1
    wait_for_status "$(container_id 3)" stopped
    [ "$(cat "$BATS_TEST_TMPDIR/out3")" = "0 1 2" ]
}

@test "fds: --preserve-fds N passes fds 3 to 2+N, and only those" {
    echo three >"$BATS_TEST_TMPDIR/f3"
    echo four >"$BATS_TEST_TMPDIR/f4"
    set_args sh -c "$TESTHELPER fds; cat /proc/self/fd/3; cat /proc/self/fd/4"
    run --separate-stderr berth run --preserve-fds 2 "$(container_id)" \
        3<"$BATS_TEST_TMPDIR/f3" 4<"$BATS_TEST_TMPDIR/f4" 5<"$BATS_TEST_TMPDIR/f3"
    [ "$status" -eq 0 ] || {
        echo "$stderr"
        return 1
    }
    [ "${lines[0]}" = "0 1 2 3 4" ]
    [ "${lines[1]}" = three ]
    [ "${lines[2]}" = four ]

    set_args "$TESTHELPER" fds
    run --separate-stderr berth run --preserve-fds 1 "$(container_id)" \
        3<"$BATS_TEST_TMPDIR/f3" 4<"$BATS_TEST_TMPDIR/f4"
    [ "$output" = "0 1 2 3" ]

    # create keeps them until start.
    id=$(container_id 2)
    berth create --preserve-fds 2 "$id" >"$BATS_TEST_TMPDIR/out" 2>&1 \
        3<"$BATS_TEST_TMPDIR/f3" 4<"$BATS_TEST_TMPDIR/f4"
    berth start "$id"
    wait_for_status "$id" stopped
    [ "$(cat "$BATS_TEST_TMPDIR/out")" = "0 1 2 3 4" ]
}

# The CVE-2019-5736 attack: container A watches its pid namespace and opens /proc/PID/exe of
# every process that appears; container B joins that namespace and runs a program whose
# interpreter is /proc/self/exe, so that the runtime itself would be executed in there.
@test "CVE-2019-5736: a container cannot reach the berth binary through /proc/PID/exe" {
    sum=$(sha256sum <"$BERTH")
    update_config '.mounts += [{destination: "/tmp", type: "tmpfs", source: "tmpfs"}]'
    # long enough for the attempts below even on a loaded machine; A's end ends its namespace
    set_args "$TESTHELPER" exe-attack watch 10
    a=$(container_id a)
    out=$BATS_TEST_TMPDIR/attack.out
    berth run -d "$a" >"$out" 2>&1
    wait_for_file "$out" '^ready$'
    apid=$(state_field "$a" .pid)

    bundle2=$BATS_TEST_TMPDIR/bundle2
    berth_make_bundle "$bundle2" /attack
    printf '#!/proc/self/exe\necho the script body ran\n' >"$bundle2/rootfs/attack"
    chmod 755 "$bundle2/rootfs/attack"
    BERTH_BUNDLE=$bundle2 update_config '.linux.namespaces |= map(
        if .type == "pid" then .path = "/proc/\($pid)/ns/pid" else . end)' --arg pid "$apid"
    # Several attempts, each a new process in A's namespace; also /proc/self/exe as the
    # program itself, and created containers that wait (berth code) before their start.
    for i in 1 2 3 4 5 6; do
        run --separate-stderr berth run --bundle "$bundle2" "$(container_id "b$i")"
        [ "$status" -ne 0 ] || {
            echo "the #!/proc/self/exe program ran: $output"
            return 1
        }
        [[ $output != *"script body ran"* ]]
    done
    BERTH_BUNDLE=$bundle2 set_args /proc/self/exe
    run --separate-stderr berth run --bundle "$bundle2" "$(container_id c)"
    [ "$status" -ne 0 ]
    BERTH_BUNDLE=$bundle2 set_args true
    for i in 1 2 3; do
        berth create --bundle "$bundle2" "$(container_id "d$i")"
    done
    for i in 1 2 3; do
        berth start "$(container_id "d$i")"
    done

    wait_for_status "$a" stopped 30
    cat "$out"
    [ "$(tail -n1 "$out")" = "result: blocked" ]
    # A saw the processes B brought into its namespace, so it had its chance.
    grep -q '^target ' "$out"
    # None of them was ever the berth binary.
    if grep -E "^target [0-9]+ exe=($BERTH|.*/berth)( |$)" "$out"; then
        echo "a container process in A's namespace was the berth binary"
        return 1
    fi
    if grep -q '^target .* write=OK' "$out"; then
        return 1
    fi
    [ "$(sha256sum <"$BERTH")" = "$sum" ]
}

@test "CVE-2019-5736: not even a container with CAP_SYS_PTRACE reaches the berth binary" {
    # CAP_SYS_PTRACE (a common addition for debugging) lets A open /proc/PID/exe of processes
    # that are not dumpable, such as a created container's process waiting for start. That
    # process must not be running from a writable berth binary.
    sum=$(sha256sum <"$BERTH")
    update_config '.mounts += [{destination: "/tmp", type: "tmpfs", source: "tmpfs"}] |
        .process.capabilities[("bounding", "effective", "permitted")] += ["CAP_SYS_PTRACE"]'
    set_args "$TESTHELPER" exe-attack watch 3
    a=$(container_id a)
    out=$BATS_TEST_TMPDIR/attack.out
    berth run -d "$a" >"$out" 2>&1
    wait_for_file "$out" '^ready$'
    apid=$(state_field "$a" .pid)

    bundle2=$BATS_TEST_TMPDIR/bundle2
    berth_make_bundle "$bundle2" true
    BERTH_BUNDLE=$bundle2 update_config '.linux.namespaces |= map(
        if .type == "pid" then .path = "/proc/\($pid)/ns/pid" else . end)' --arg pid "$apid"
    b=$(container_id b)
    berth create --bundle "$bundle2" "$b"
    sleep 0.5
    berth start "$b"
    wait_for_status "$a" stopped 15
    cat "$out"
    grep -q '^target ' "$out"
    # B's process may show the berth binary (re-executed from a read-only bind mount of itself,
    # since it joins a pid namespace it does not own), but it can never be opened for writing.
    if grep -E "^target [0-9]+ exe=($BERTH|.*/berth)( |$)" "$out" | grep -v ' open=EROFS '; then
        echo "A could open the berth binary for writing through /proc/PID/exe"
        return 1
    fi
    if grep -q '^target .* write=OK' "$out"; then
        return 1
    fi
    [ "$(tail -n1 "$out")" = "result: blocked" ]
    [ "$(sha256sum <"$BERTH")" = "$sum" ]
}

@test "CVE-2019-5736: the attack works on this kernel against an unprotected binary (control)" {
    update_config '.mounts += [{destination: "/tmp", type: "tmpfs", source: "tmpfs"}] |
        .process.env += ["TMPDIR=/tmp"]'
    set_args "$TESTHELPER" exe-attack control 5
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ]
    echo "$output"
    grep -qE '^target [0-9]+ exe=.* open=OK write=OK$' <<<"$output"
    [ "${lines[-1]}" = "result: wrote" ]
}

@test "CVE-2019-5736: the protection holds no copy of berth per container" {
    # A created container's process still runs berth's code from the berth binary itself
    # (no ~MiB memfd copy as runc makes); the only memfd it holds is the small exec stub.
    set_args true
    id=$(container_id)
    berth create "$id"
    pid=$(state_field "$id" .pid)
    [ "$(stat -Lc %d:%i "/proc/$pid/exe")" = "$(stat -Lc %d:%i "$BERTH")" ]
    total=0
    for fd in /proc/"$pid"/fd/*; do
        case $(readlink "$fd") in
        /memfd:*)
            size=$(stat -Lc %s "$fd")
            total=$((total + size))
            ;;
        esac
    done
    [ "$total" -gt 0 ]
    [ "$total" -lt 65536 ]
    berth start "$id"
    wait_for_status "$id" stopped
}
