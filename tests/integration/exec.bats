#!/usr/bin/env bats
# berth exec: a new process in a running container. Every flag (--tty, --console-socket,
# --detach, --pid-file, --env, --cwd, --user, --additional-gids, --cap, --no-new-privs,
# --preserve-fds, --process, --ignore-paused, --cgroup, --apparmor, --process-label), the
# namespaces, cgroup, root, cwd, capabilities, rlimits, no_new_privs and seccomp filter the
# process gets, its exit status, its fds, and many execs at once.

# jq filters and container-side shell code are single-quoted on purpose:
# shellcheck disable=SC2016

load helpers
bats_require_minimum_version 1.5.0

setup() {
    berth_setup
    cd "$BERTH_BUNDLE" || return 1
}

teardown() {
    stop_receiver
    berth_teardown
}

# field OUTPUT KEY: the value after "KEY: " in the helper's output.
field() {
    awk -v k="$2:" '$1 == k { sub(/^[^:]*: ?/, ""); print; exit }' <<<"$1"
}

# start_container [ARG...]: run the bundle detached (default process: the helper sleeping
# forever) as $CID; INIT_PID is its process on the host.
start_container() {
    [ $# -gt 0 ] || set -- "$TESTHELPER" sleep inf
    set_args "$@"
    CID=$(container_id)
    run_files berth run -d "$CID"
    [ "$status" -eq 0 ] || {
        echo "run -d: exit $status: $stderr" >&2
        return 1
    }
    INIT_PID=$(state_field "$CID" .pid)
    [ "$INIT_PID" -gt 0 ]
}

# exec_detached ARG...: `berth exec -d --pid-file` with the extra exec options in ARG...; sets
# EXEC_PID to the new process's host pid.
exec_detached() {
    local pf=$BATS_TEST_TMPDIR/exec.pid
    rm -f "$pf"
    run_files berth exec -d --pid-file "$pf" "$@"
    [ "$status" -eq 0 ] || {
        echo "exec -d: exit $status: $stderr" >&2
        return 1
    }
    EXEC_PID=$(cat "$pf")
    [ "$EXEC_PID" -gt 0 ] && [ -d "/proc/$EXEC_PID" ]
}

# cgroup_mountpoint CONTROLLERS: where the hierarchy of /proc/PID/cgroup's second field is
# mounted on the host ("" = the unified hierarchy). mountinfo: the filesystem type and the
# super options follow the " - " separator.
cgroup_mountpoint() {
    awk -v c="${1%%,*}" '{
        for (s = 7; $s != "-"; s++) ;
        if (c == "" && $(s + 1) == "cgroup2") { print $5; exit }
        if (c != "" && $(s + 1) == "cgroup") {
            n = split($(s + 3), o, ",")
            for (i = 1; i <= n; i++) if (o[i] == c) { print $5; exit }
        } }' /proc/self/mountinfo
}

# cgroup_dirs PID: "CONTROLLERS DIR" per hierarchy the process is in, DIR on the host.
cgroup_dirs() {
    local ctrls path mnt
    while IFS=: read -r _ ctrls path; do
        mnt=$(cgroup_mountpoint "$ctrls")
        [ -n "$mnt" ] && [ -d "$mnt$path" ] && printf '%s %s\n' "${ctrls:--}" "$mnt$path"
    done <"/proc/$1/cgroup"
}

# mk_sub_cgroup DIR NAME: DIR/NAME, ready for processes (a v1 cpuset needs cpus and mems).
mk_sub_cgroup() {
    mkdir "$1/$2"
    if [ -f "$1/cpuset.cpus" ] && [ -z "$(cat "$1/$2/cpuset.cpus")" ]; then
        cat "$1/cpuset.cpus" >"$1/$2/cpuset.cpus"
        cat "$1/cpuset.mems" >"$1/$2/cpuset.mems"
    fi
}

# ---------------------------------------------------------------------------------------------
# Where the process runs

@test "exec: the process is in every namespace of the container, its cgroup, root and cwd" {
    update_config '.process.cwd = "/home/user"'
    start_container
    echo marker >"$ROOTFS/marker"
    run --separate-stderr berth exec "$CID" "$TESTHELPER" ns
    [ "$status" -eq 0 ] || {
        echo "$stderr"
        return 1
    }
    n=0
    for ns in /proc/"$INIT_PID"/ns/*; do
        name=${ns##*/}
        want="$name: $(readlink "$ns")"
        grep -qxF "$want" <<<"$output" || {
            echo "exec's namespaces:"
            echo "$output"
            echo "missing: $want"
            return 1
        }
        n=$((n + 1))
    done
    [ "$n" -ge 8 ]
    # Not the host's: the comparison above means something.
    [ "$(field "$output" mnt)" != "$(host_ns mnt)" ]
    [ "$(field "$output" pid)" != "$(host_ns pid)" ]

    exec_detached "$CID" "$TESTHELPER" sleep inf
    [ "$(cat "/proc/$EXEC_PID/cgroup")" = "$(cat "/proc/$INIT_PID/cgroup")" ]
    [ "$(stat -Lc %d:%i "/proc/$EXEC_PID/root/")" = "$(stat -Lc %d:%i "/proc/$INIT_PID/root/")" ]
    [ "$(stat -Lc %d:%i "/proc/$EXEC_PID/cwd")" = "$(stat -Lc %d:%i "$ROOTFS/home/user")" ]
    # Its pid is one of the container's pid namespace, not pid 1.
    nspid=$(awk '$1 == "NSpid:" { print $NF }' "/proc/$EXEC_PID/status")
    [ "$nspid" -gt 1 ]

    # The same from the inside: the container's root, the configured cwd.
    run --separate-stderr berth exec "$CID" sh -c 'cat /marker; pwd; cat /proc/1/cmdline | tr "\0" " "'
    [ "${lines[0]}" = marker ]
    [ "${lines[1]}" = /home/user ]
    [ "${lines[2]}" = "$TESTHELPER sleep inf " ]
}

@test "exec: joins a user and a time namespace too; uid 0 is the mapped one on the host" {
    [ -e /proc/self/ns/time ] || skip "this kernel has no time namespaces"
    allow_traversal "$BERTH_BUNDLE"
    update_config '.linux.namespaces += [{type: "user"}, {type: "time"}] |
        .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}] |
        .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]'
    start_container
    run --separate-stderr berth exec "$CID" "$TESTHELPER" ns
    [ "$status" -eq 0 ] || {
        echo "$stderr"
        return 1
    }
    for name in user time time_for_children pid mnt net; do
        [ "$(field "$output" "$name")" = "$(readlink "/proc/$INIT_PID/ns/$name")" ] || {
            echo "$name: exec has $(field "$output" "$name"), init $(readlink "/proc/$INIT_PID/ns/$name")"
            return 1
        }
    done
    [ "$(field "$output" user)" != "$(host_ns user)" ]
    exec_detached -u 1000:1000 "$CID" "$TESTHELPER" sleep inf
    [ "$(awk '$1 == "Uid:" { print $2 }' "/proc/$EXEC_PID/status")" = 101000 ]
    [ "$(awk '$1 == "Gid:" { print $2 }' "/proc/$EXEC_PID/status")" = 101000 ]
}

# ---------------------------------------------------------------------------------------------
# What the process gets: the container's, unless a flag says otherwise

@test "exec: capabilities, rlimits, no_new_privs and seccomp filter are the container's" {
    update_config '.root.readonly = false | .process.noNewPrivileges = true |
        .process.capabilities = {bounding: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"],
            effective: ["CAP_CHOWN", "CAP_KILL"], permitted: ["CAP_CHOWN", "CAP_KILL"]} |
        .process.rlimits = [{type: "RLIMIT_NOFILE", soft: 321, hard: 654},
                            {type: "RLIMIT_CORE", soft: 0, hard: 4096}] |
        .linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW",
            syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 122}]}'
    start_container sh -c "$TESTHELPER caps >/tmp/caps; $TESTHELPER rlimits >/tmp/rlimits;
        $TESTHELPER seccomp >/tmp/seccomp; exec $TESTHELPER sleep inf"
    wait_for_file "$ROOTFS/tmp/seccomp" NoNewPrivs
    for probe in caps rlimits seccomp; do
        run --separate-stderr berth exec "$CID" "$TESTHELPER" "$probe"
        [ "$status" -eq 0 ]
        [ "$output" = "$(cat "$ROOTFS/tmp/$probe")" ] || {
            printf 'exec %s:\n%s\ncontainer process:\n%s\n' "$probe" "$output" "$(cat "$ROOTFS/tmp/$probe")"
            return 1
        }
    done
    # ... and they are what the config says, not the host's.
    run berth exec "$CID" "$TESTHELPER" caps
    [ "$(field "$output" effective)" = CAP_CHOWN,CAP_KILL ]
    [ "$(field "$output" bounding)" = CAP_CHOWN,CAP_KILL,CAP_NET_RAW ]
    run berth exec "$CID" "$TESTHELPER" rlimits
    grep -qx 'NOFILE 321 654' <<<"$output"
    grep -qx 'CORE 0 4096' <<<"$output"
    run berth exec "$CID" "$TESTHELPER" seccomp
    [ "$(field "$output" Seccomp)" = 2 ]
    [ "$(field "$output" Seccomp_filters)" -ge 1 ]
    [ "$(field "$output" NoNewPrivs)" = 1 ]
    # The filter works in the exec'd process.
    run berth exec "$CID" "$TESTHELPER" mkdir /tmp/d
    [ "$output" = EDQUOT ]
    [ ! -e "$ROOTFS/tmp/d" ]
}

@test "exec: --no-new-privs sets no_new_privs when the container has it off" {
    update_config '.process.noNewPrivileges = false'
    start_container
    run berth exec "$CID" "$TESTHELPER" seccomp
    [ "$(field "$output" NoNewPrivs)" = 0 ]
    run berth exec --no-new-privs "$CID" "$TESTHELPER" seccomp
    [ "$status" -eq 0 ]
    [ "$(field "$output" NoNewPrivs)" = 1 ]
    # Only that process: the container's own is unchanged.
    [ "$(awk '$1 == "NoNewPrivs:" { print $2 }' "/proc/$INIT_PID/status")" = 0 ]
}

@test "exec: --cap adds capabilities to the bounding, effective and permitted sets" {
    start_container
    run --separate-stderr berth exec --cap CAP_SYS_ADMIN -c CAP_NET_RAW "$CID" "$TESTHELPER" caps
    [ "$status" -eq 0 ] || {
        echo "$stderr"
        return 1
    }
    want=CAP_KILL,CAP_NET_BIND_SERVICE,CAP_NET_RAW,CAP_SYS_ADMIN,CAP_AUDIT_WRITE
    for set in bounding effective permitted; do
        [ "$(field "$output" "$set")" = "$want" ] || {
            echo "$set: $(field "$output" "$set"), expected $want"
            return 1
        }
    done
    [ "$(field "$output" inheritable)" = none ]
    [ "$(field "$output" ambient)" = none ]
    # Without --cap: the container's sets.
    run berth exec "$CID" "$TESTHELPER" caps
    [ "$(field "$output" effective)" = CAP_KILL,CAP_NET_BIND_SERVICE,CAP_AUDIT_WRITE ]
    # An unknown name is refused before anything runs.
    run --separate-stderr berth exec --cap CAP_BOGUS "$CID" true
    [ "$status" -eq 1 ]
    [[ $stderr == *'--cap: unknown capability "CAP_BOGUS"'* ]]
}

@test "exec: --user uid:gid and --additional-gids; -u uid keeps the container's gid" {
    update_config '.process.user = {uid: 0, gid: 0, additionalGids: [10]}'
    start_container
    run --separate-stderr berth exec -u 1000:1001 --additional-gids 5,6 -g 7 "$CID" "$TESTHELPER" ids
    [ "$status" -eq 0 ] || {
        echo "$stderr"
        return 1
    }
    for k in uid euid suid; do [ "$(field "$output" "$k")" = 1000 ]; done
    for k in gid egid sgid; do [ "$(field "$output" "$k")" = 1001 ]; done
    [ "$(field "$output" groups)" = "5 6 7" ]

    run berth exec --user 1000 "$CID" "$TESTHELPER" ids
    [ "$(field "$output" uid)" = 1000 ]
    [ "$(field "$output" gid)" = 0 ]
    [ "$(field "$output" groups)" = 10 ]
    # Without flags: the container's user.
    run berth exec "$CID" "$TESTHELPER" ids
    [ "$(field "$output" uid)" = 0 ]
    [ "$(field "$output" groups)" = 10 ]

    run --separate-stderr berth exec -u root "$CID" true
    [ "$status" -eq 1 ]
    [[ $stderr == *'--user "root": expected uid[:gid] as numbers'* ]]
    run --separate-stderr berth exec --additional-gids x "$CID" true
    [ "$status" -eq 1 ]
    [[ $stderr == *'--additional-gids: "x" is not a group id'* ]]
}

@test "exec: --env overrides and adds variables; the rest is the container's environment" {
    update_config '.process.env = ["PATH=/usr/bin:/bin", "FOO=container", "KEEP=me"]'
    start_container
    run --separate-stderr berth exec -e FOO=override --env NEW='a b=c' -e EMPTY= "$CID" "$TESTHELPER" env
    [ "$status" -eq 0 ] || {
        echo "$stderr"
        return 1
    }
    [ "$(grep -c '^FOO=' <<<"$output")" -eq 1 ]
    grep -qx FOO=override <<<"$output"
    grep -qx 'NEW=a b=c' <<<"$output"
    grep -qx EMPTY= <<<"$output"
    grep -qx KEEP=me <<<"$output"
    grep -qx PATH=/usr/bin:/bin <<<"$output"
    # Nothing of berth's own environment.
    run env BERTH_LEAK_CHECK=host "$BERTH" --root "$BERTH_ROOT" exec "$CID" "$TESTHELPER" env
    ! grep -q BERTH_LEAK_CHECK <<<"$output" || return 1
    run --separate-stderr berth exec -e NOEQUALS "$CID" true
    [ "$status" -eq 1 ]
    [[ $stderr == *'--env "NOEQUALS": expected NAME=VALUE'* ]]
}

@test "exec: --cwd sets the working directory; a missing one is a clear error" {
    start_container
    run berth exec --cwd /tmp "$CID" "$TESTHELPER" cwd
    [ "$status" -eq 0 ]
    [ "$output" = /tmp ]
    run berth exec "$CID" "$TESTHELPER" cwd
    [ "$output" = / ]
    run --separate-stderr berth exec --cwd /missing "$CID" true
    [ "$status" -eq 1 ]
    [[ $stderr == *"chdir to /missing inside the container: No such file or directory"* ]]
}

@test "exec: --cwd must be absolute, as process.cwd must (config.json and --process refuse it)" {
    start_container
    run --separate-stderr berth exec --cwd tmp "$CID" pwd
    echo "exit $status, output '$output', stderr '$stderr'"
    [ "$status" -eq 1 ]
    [[ $stderr == *"must be an absolute path"* ]]
}

@test "exec: the exit status is returned like run's: 0, N, 128+N when killed" {
    start_container
    run berth exec "$CID" true
    [ "$status" -eq 0 ]
    run berth exec "$CID" sh -c 'exit 42'
    [ "$status" -eq 42 ]
    run berth exec "$CID" sh -c 'kill -KILL $$'
    [ "$status" -eq 137 ]
    run berth exec "$CID" "$TESTHELPER" kill-self TERM
    [ "$status" -eq 143 ]
    # Killed from outside, while berth waits for it.
    "$BERTH" --root "$BERTH_ROOT" exec --pid-file "$BATS_TEST_TMPDIR/pf" "$CID" "$TESTHELPER" sleep inf &
    bg=$!
    wait_for_file "$BATS_TEST_TMPDIR/pf" '^[0-9]+$'
    kill -USR1 "$(cat "$BATS_TEST_TMPDIR/pf")"
    status=0
    wait "$bg" || status=$?
    [ "$status" -eq $((128 + 10)) ]
    # A command that does not exist: berth's own error, status 1.
    run --separate-stderr berth exec "$CID" /nonexistent
    [ "$status" -eq 1 ]
    [[ $stderr == *'"/nonexistent": No such file or directory'* ]]
}

@test "exec: a foreground exec forwards SIGINT, SIGHUP, SIGUSR1 and SIGTERM to the process" {
    start_container
    out=$BATS_TEST_TMPDIR/out
    "$BERTH" --root "$BERTH_ROOT" exec "$CID" "$TESTHELPER" signals >"$out" 2>&1 &
    bg=$!
    wait_for_file "$out" '^ready$'
    for sig in INT HUP USR1; do
        kill -s "$sig" "$bg"
        wait_for_file "$out" "^got SIG$sig\$"
    done
    kill -s TERM "$bg"
    status=0
    wait "$bg" || status=$?
    [ "$status" -eq 0 ]
    grep -qx 'got SIGTERM' "$out"
    # The container itself did not get them.
    [ "$(state_field "$CID" .status)" = running ]
}

@test "exec: stdin, stdout and stderr are berth's" {
    start_container
    run --separate-stderr berth exec "$CID" sh -c 'read -r l; echo "out:$l"; echo "err:$l" >&2' <<<"piped in"
    [ "$status" -eq 0 ]
    [ "$output" = "out:piped in" ]
    [ "$stderr" = "err:piped in" ]
}

# ---------------------------------------------------------------------------------------------
# --detach, --pid-file, ps

@test "exec: --detach returns at once; the process keeps running, listed by berth ps" {
    start_container
    start=$(date +%s%N)
    run_files berth exec --detach --pid-file "$BATS_TEST_TMPDIR/pid" "$CID" "$TESTHELPER" sleep inf
    [ "$status" -eq 0 ]
    [ $((($(date +%s%N) - start) / 1000000)) -lt 5000 ]
    EXEC_PID=$(cat "$BATS_TEST_TMPDIR/pid")
    [ -d "/proc/$EXEC_PID" ]
    # berth itself is gone: nobody of the test is its parent any more ...
    ppid=$(awk '$1 == "PPid:" { print $2 }' "/proc/$EXEC_PID/status")
    [ "$(cat "/proc/$ppid/comm")" != berth ]
    sleep 0.3
    [ -d "/proc/$EXEC_PID" ]
    [ "$(tr '\0' ' ' <"/proc/$EXEC_PID/cmdline")" = "$TESTHELPER sleep inf " ]
    # ... and berth ps lists it beside the container's own process.
    run --separate-stderr berth ps --format json "$CID"
    [ "$status" -eq 0 ]
    jq -e --argjson p "$EXEC_PID" 'index($p) != null' <<<"$output"
    jq -e --argjson p "$INIT_PID" 'index($p) != null' <<<"$output"
    run berth ps "$CID"
    grep -q "^[^ ]* *$EXEC_PID .*sleep inf" <<<"$output"
    # delete --force ends it with the container.
    berth delete --force "$CID"
    retry 30 0.1 pid_gone "$EXEC_PID"
    assert_nothing_left
}

@test "exec: --pid-file holds the host pid of a foreground exec while it runs" {
    start_container
    pf=$BATS_TEST_TMPDIR/pf
    "$BERTH" --root "$BERTH_ROOT" exec --pid-file "$pf" "$CID" "$TESTHELPER" sleep 30 &
    bg=$!
    wait_for_file "$pf" '^[0-9]+$'
    pid=$(cat "$pf")
    [ "$(tr '\0' ' ' <"/proc/$pid/cmdline")" = "$TESTHELPER sleep 30 " ]
    [ "$(readlink "/proc/$pid/ns/pid")" = "$(readlink "/proc/$INIT_PID/ns/pid")" ]
    kill -TERM "$bg"
    status=0
    wait "$bg" || status=$?
    [ "$status" -eq 143 ]
}

# ---------------------------------------------------------------------------------------------
# Terminals

@test "exec: --tty --console-socket: the receiver gets the master, the process a controlling tty" {
    start_container
    start_receiver --resize 20x70 --input $'go\n'
    run --separate-stderr berth exec --tty --console-socket "$SOCK" "$CID" \
        sh -c "read -r x; $TESTHELPER tty; echo \"got=\$x\"; exit 5"
    [ "$status" -eq 5 ] || {
        echo "exit $status: $stderr"
        return 1
    }
    wait_receiver
    out=$(cat "$CONSOLE_OUT.txt")
    echo "$out"
    grep -qE '^received pty /dev/pts/[0-9]+$' "$BATS_TEST_TMPDIR/receiver.err"
    for fd in 0 1 2; do
        grep -qE "^fd$fd: isatty=1 ttyname=/dev/pts/[0-9]+$" <<<"$out"
    done
    grep -qx 'ctty: yes' <<<"$out"
    grep -qx 'winsize: 20x70' <<<"$out"
    grep -qx 'got=go' <<<"$out"
    # The process leads its own session, which is the terminal's foreground group.
    sid=$(field "$out" sid)
    [ "$(field "$out" tcpgrp)" = "$sid" ]
    # Nothing went to berth's own stdout.
    [ -z "$output" ]
}

@test "exec: --tty --detach --console-socket returns at once; the pty keeps working" {
    start_container
    start_receiver --input $'hello\n'
    exec_detached -t --console-socket "$SOCK" "$CID" sh -c 'read -r x; echo "got=$x"'
    wait_receiver
    grep -qx 'got=hello' "$CONSOLE_OUT.txt"
    retry 30 0.1 pid_gone "$EXEC_PID"
}

@test "exec: consoleSize of a --process JSON is applied to the pty" {
    start_container
    jq -n --arg h "$TESTHELPER" '{terminal: true, consoleSize: {height: 44, width: 132},
        user: {uid: 0, gid: 0}, cwd: "/", args: [$h, "tty"], env: ["PATH=/bin"]}' >"$BATS_TEST_TMPDIR/p.json"
    start_receiver
    run --separate-stderr berth exec -p "$BATS_TEST_TMPDIR/p.json" --console-socket "$SOCK" "$CID"
    [ "$status" -eq 0 ] || {
        echo "$stderr"
        return 1
    }
    wait_receiver
    grep -qx 'winsize: 44x132' "$CONSOLE_OUT.txt"
    grep -qx 'ctty: yes' "$CONSOLE_OUT.txt"
}

@test "exec: --tty --detach without --console-socket is refused, nothing runs" {
    start_container
    run_files berth exec -t -d "$CID" "$TESTHELPER" sleep inf
    [ "$status" -eq 1 ]
    [[ $stderr == *"--tty with --detach needs --console-socket"* ]]
    run berth ps --format json "$CID"
    [ "$(jq length <<<"$output")" -eq 1 ]
}

@test "exec: --tty leaves the container's /dev/console alone" {
    # A container with a terminal has its pty on /dev/console; an exec with its own pty must
    # not mount that pty over it (runc does not: the console is the container's).
    update_config '.process.terminal = true'
    start_receiver
    set_args "$TESTHELPER" sleep inf
    CID=$(container_id)
    run_files berth run -d --console-socket "$SOCK" "$CID"
    [ "$status" -eq 0 ] || {
        echo "$stderr"
        return 1
    }
    INIT_PID=$(state_field "$CID" .pid)
    console_mounts() { grep -c ' /dev/console ' "/proc/$INIT_PID/mountinfo"; }
    before=$(console_mounts)
    run berth exec "$CID" stat -c %t:%T /dev/console
    dev_before=$output
    [ -n "$dev_before" ]

    sock2=$BATS_TEST_TMPDIR/console2.sock
    "$BERTH_CONSOLE_RECEIVER" "$sock2" --out /dev/null --timeout 10 2>/dev/null &
    r2=$!
    wait_for_file "$sock2"
    run --separate-stderr berth exec -t --console-socket "$sock2" "$CID" true
    wait "$r2" || true
    [ "$status" -eq 0 ]

    after=$(console_mounts)
    run berth exec "$CID" stat -c %t:%T /dev/console
    echo "mounts on /dev/console: $before before, $after after; device $dev_before before, $output after"
    grep ' /dev/console ' "/proc/$INIT_PID/mountinfo"
    [ "$after" -eq "$before" ]
    [ "$output" = "$dev_before" ]
}

# ---------------------------------------------------------------------------------------------
# fds

@test "exec: the process gets fds 0, 1 and 2 only, whatever berth inherited" {
    start_container
    run bash -c 'exec 3</dev/null 4</dev/null 7>/dev/null 9</dev/null; exec "$@"' bash \
        "$BERTH" --root "$BERTH_ROOT" exec "$CID" "$TESTHELPER" fds
    [ "$status" -eq 0 ]
    [ "$output" = "0 1 2" ]
}

@test "exec: --preserve-fds N passes fds 3 to 3+N-1, numbered the same" {
    start_container
    echo three >"$BATS_TEST_TMPDIR/f3"
    echo four >"$BATS_TEST_TMPDIR/f4"
    echo five >"$BATS_TEST_TMPDIR/f5"
    run bash -c 'exec 3<"$1" 4<"$2" 5<"$3"; shift 3; exec "$@"' bash \
        "$BATS_TEST_TMPDIR/f3" "$BATS_TEST_TMPDIR/f4" "$BATS_TEST_TMPDIR/f5" \
        "$BERTH" --root "$BERTH_ROOT" exec --preserve-fds 2 "$CID" \
        sh -c "$TESTHELPER fds; cat <&3; cat <&4"
    [ "$status" -eq 0 ] || {
        echo "$output"
        return 1
    }
    [ "${lines[0]}" = "0 1 2 3 4" ]
    [ "${lines[1]}" = three ]
    [ "${lines[2]}" = four ]
}

# ---------------------------------------------------------------------------------------------
# --process

@test "exec: --process runs an OCI process JSON: args, env, cwd, user, caps, rlimits, nnp" {
    update_config '.process.noNewPrivileges = false'
    start_container
    jq -n --arg h "$TESTHELPER" '{
        args: ["sh", "-c", ($h + " ids; " + $h + " cwd; " + $h + " env; " + $h + " caps; " + $h + " rlimits; " + $h + " seccomp")],
        env: ["PATH=/bin:/usr/bin", "FROM=process-json"], cwd: "/tmp",
        user: {uid: 7, gid: 8, additionalGids: [9]},
        capabilities: {bounding: ["CAP_CHOWN"], effective: ["CAP_CHOWN"], permitted: ["CAP_CHOWN"]},
        rlimits: [{type: "RLIMIT_NOFILE", soft: 100, hard: 200}],
        noNewPrivileges: true}' >"$BATS_TEST_TMPDIR/p.json"
    run --separate-stderr berth exec --process "$BATS_TEST_TMPDIR/p.json" "$CID"
    [ "$status" -eq 0 ] || {
        echo "$stderr"
        return 1
    }
    [ "$(field "$output" uid)" = 7 ]
    [ "$(field "$output" gid)" = 8 ]
    [ "$(field "$output" groups)" = 9 ]
    grep -qx /tmp <<<"$output"
    grep -qx FROM=process-json <<<"$output"
    ! grep -q '^TERM=' <<<"$output" || return 1
    [ "$(field "$output" bounding)" = CAP_CHOWN ]
    grep -qx 'NOFILE 100 200' <<<"$output"
    [ "$(field "$output" NoNewPrivs)" = 1 ]

    # A malformed file is an error naming it; nothing runs.
    echo '{"args": [' >"$BATS_TEST_TMPDIR/bad.json"
    run --separate-stderr berth exec --process "$BATS_TEST_TMPDIR/bad.json" "$CID"
    [ "$status" -eq 1 ]
    [[ $stderr == *"$BATS_TEST_TMPDIR/bad.json"*"invalid JSON"* ]]
    run --separate-stderr berth exec --process "$BATS_TEST_TMPDIR/missing.json" "$CID"
    [ "$status" -eq 1 ]
    [[ $stderr == *"--process $BATS_TEST_TMPDIR/missing.json"* ]]
    run berth ps --format json "$CID"
    [ "$(jq length <<<"$output")" -eq 1 ]
}

@test "exec: without a command or --process it is a usage error" {
    start_container
    run --separate-stderr berth exec "$CID"
    [ "$status" -eq 1 ]
    [[ $stderr == *"no command to run"* ]]
    run --separate-stderr berth exec
    [ "$status" -eq 1 ]
    [[ $stderr == *"requires the container id"* ]]
}

# ---------------------------------------------------------------------------------------------
# State of the container

@test "exec: into a paused container fails; with --ignore-paused it runs once resumed" {
    start_container
    berth pause "$CID"
    [ "$(state_field "$CID" .status)" = paused ]
    run --separate-stderr timeout 20 "$BERTH" --root "$BERTH_ROOT" exec "$CID" echo hi
    [ "$status" -eq 1 ]
    [[ $stderr == *"cannot exec in container $CID: it is paused"*"--ignore-paused"* ]]

    out=$BATS_TEST_TMPDIR/out
    timeout 30 "$BERTH" --root "$BERTH_ROOT" exec --ignore-paused "$CID" sh -c 'echo ran; exit 6' \
        >"$out" 2>&1 &
    bg=$!
    # Frozen with the rest of the container until it is resumed.
    sleep 1
    [ ! -s "$out" ]
    kill -0 "$bg"
    berth resume "$CID"
    status=0
    wait "$bg" || status=$?
    [ "$status" -eq 6 ] || {
        echo "exit $status: $(cat "$out")"
        return 1
    }
    [ "$(cat "$out")" = ran ]
}

@test "exec: into a stopped or a missing container fails with a clear error" {
    set_args true
    CID=$(container_id)
    berth run --keep "$CID"
    [ "$(state_field "$CID" .status)" = stopped ]
    run --separate-stderr berth exec "$CID" echo hi
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    [[ $stderr == *"cannot exec in container $CID: it is stopped"* ]]
    run --separate-stderr berth exec nosuch-"$CID" echo hi
    [ "$status" -eq 1 ]
    [[ $stderr == *"container nosuch-$CID does not exist"* ]]
    berth delete "$CID"
    assert_nothing_left
}

@test "exec: --cgroup runs the process in a sub-cgroup of the container's" {
    start_container
    mapfile -t dirs < <(cgroup_dirs "$INIT_PID")
    [ ${#dirs[@]} -ge 1 ]
    for d in "${dirs[@]}"; do
        mk_sub_cgroup "${d#* }" sub
    done
    exec_detached --cgroup sub "$CID" "$TESTHELPER" sleep inf
    # Every hierarchy: the container's cgroup plus /sub.
    diff <(sed 's|$|/sub|' "/proc/$INIT_PID/cgroup") "/proc/$EXEC_PID/cgroup"
    # Inside, relative to its cgroup namespace.
    run berth exec --cgroup sub "$CID" cat /proc/self/cgroup
    [ "$status" -eq 0 ]
    grep -q ':/sub$' <<<"$output"

    # CONTROLLER:PATH puts it in a sub-cgroup of that hierarchy only.
    first=${dirs[0]}
    ctrl=${first%% *}
    if [ "$ctrl" != - ]; then
        mk_sub_cgroup "${first#* }" only
        exec_detached --cgroup "${ctrl%%,*}:only" "$CID" "$TESTHELPER" sleep inf
        grep -q "^[0-9]*:$ctrl:.*/only\$" "/proc/$EXEC_PID/cgroup"
        [ "$(grep -c '/only$' "/proc/$EXEC_PID/cgroup")" -eq 1 ]
    fi

    # A sub-cgroup that does not exist: an error, no process left.
    run --separate-stderr berth exec --cgroup nosuch "$CID" true
    [ "$status" -eq 1 ]
    [[ $stderr == *"--cgroup nosuch"* ]]
    berth delete --force "$CID"
    assert_nothing_left
}

@test "exec: --apparmor and --process-label are refused with a clear message" {
    start_container
    run --separate-stderr berth exec --apparmor unconfined "$CID" true
    [ "$status" -eq 1 ]
    [[ $stderr == *"AppArmor is not enabled on this host"* ]]
    run --separate-stderr berth exec --process-label system_u:system_r:container_t:s0 "$CID" true
    [ "$status" -eq 1 ]
    [[ $stderr == *"SELinux is not enabled on this host"* ]]
    run berth ps --format json "$CID"
    [ "$(jq length <<<"$output")" -eq 1 ]
}

@test "exec: 25 concurrent execs into one container all succeed with their own output" {
    start_container
    n=25
    for ((i = 1; i <= n; i++)); do
        (
            rc=0
            "$BERTH" --root "$BERTH_ROOT" exec -e "I=$i" "$CID" \
                sh -c 'echo "out-$I"; echo "err-$I" >&2; exit $((I % 7))' \
                >"$BATS_TEST_TMPDIR/out.$i" 2>"$BATS_TEST_TMPDIR/err.$i" || rc=$?
            echo "$rc" >"$BATS_TEST_TMPDIR/rc.$i"
        ) &
    done
    wait
    for ((i = 1; i <= n; i++)); do
        [ "$(cat "$BATS_TEST_TMPDIR/out.$i")" = "out-$i" ] &&
            [ "$(cat "$BATS_TEST_TMPDIR/err.$i")" = "err-$i" ] &&
            [ "$(cat "$BATS_TEST_TMPDIR/rc.$i")" = $((i % 7)) ] || {
            echo "exec $i: rc $(cat "$BATS_TEST_TMPDIR/rc.$i"), out '$(cat "$BATS_TEST_TMPDIR/out.$i")'," \
                "err '$(cat "$BATS_TEST_TMPDIR/err.$i")'"
            return 1
        }
    done
    # All reaped: only the container's own process is left in it.
    run berth ps --format json "$CID"
    [ "$output" = "[$INIT_PID]" ] || [ "$(jq -c . <<<"$output")" = "[$INIT_PID]" ]
}
