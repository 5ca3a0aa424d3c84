#!/usr/bin/env bats
# Smoke tests of the test tools themselves, run on the host: berth-testhelper, console-receiver,
# make-rootfs.sh and helpers.bash. The runtime's tests stand on these, so they must be right
# before any container is started.

load helpers

setup() {
    [ -x "$BERTH_TESTHELPER" ] || skip "berth-testhelper not built ($BERTH_TESTHELPER)"
    H=$BERTH_TESTHELPER
    BERTH_TEST_DIR=$BATS_TEST_TMPDIR
    BERTH_ROOT=$BERTH_TEST_DIR/root
    BERTH_CID=t${BATS_SUITE_TEST_NUMBER}-$$
}

teardown() {
    berth_teardown
}

# wait_for_file FILE [PATTERN]: until FILE exists (and holds a line matching PATTERN), 5 s.
wait_for_file() {
    local i
    for ((i = 0; i < 50; i++)); do
        if [ -e "$1" ] && { [ -z "${2:-}" ] || grep -q -- "$2" "$1"; }; then
            return 0
        fi
        sleep 0.1
    done
    echo "$1 never showed ${2:-up}" >&2
    return 1
}

@test "testhelper: is static and documents every command" {
    run file -L "$H"
    [[ $output == *"statically linked"* ]] || [[ $output == *"static-pie linked"* ]] || ! command -v file
    run "$H" help
    [ "$status" -eq 0 ]
    for cmd in caps seccomp fds rlimits ids umask cwd hostname pid env oomscore personality sched \
        ioprio affinity mempolicy timens tty mounts ns cgroup exit kill-self sleep alloc forkbomb \
        spin counter signals write open mknod mkdir syscall-getpid sdnotify notify-recv listen-fds \
        cat-stdin-hash exe-attack console-send; do
        [[ $output == *"  $cmd"* ]] || {
            echo "usage does not mention $cmd"
            return 1
        }
    done
    run "$H"
    [ "$status" -eq 2 ]
    run "$H" no-such-command
    [ "$status" -eq 2 ]
    run "$H" exit
    [ "$status" -eq 2 ]
}

@test "testhelper: caps matches /proc/self/status and names the effective set" {
    run "$H" caps
    [ "$status" -eq 0 ]
    for key in CapInh CapPrm CapEff CapBnd CapAmb; do
        want=$(awk -v k="$key:" '$1 == k { print $2 }' /proc/$$/status)
        [[ $output == *"$key: $want"* ]]
    done
    [[ $output == *"ambient: none"* ]]
    if [ "$(id -u)" -eq 0 ]; then
        [[ $(grep '^effective:' <<<"$output") == *CAP_SYS_ADMIN* ]]
    fi
    # Bounding set of 3 capabilities, as the default spec has.
    command -v setpriv >/dev/null || skip "needs setpriv"
    run setpriv --bounding-set -all,+kill,+net_bind_service,+audit_write "$H" caps
    [ "$status" -eq 0 ]
    grep -qx 'bounding: CAP_KILL,CAP_NET_BIND_SERVICE,CAP_AUDIT_WRITE' <<<"$output"
    grep -qx 'CapBnd: 0000000020000420' <<<"$output"
}

@test "testhelper: seccomp and no_new_privs" {
    run "$H" seccomp
    [ "$status" -eq 0 ]
    grep -qx 'Seccomp: 0' <<<"$output"
    grep -qx 'NoNewPrivs: 0' <<<"$output"
    command -v setpriv >/dev/null || skip "needs setpriv"
    run setpriv --no-new-privs "$H" seccomp
    grep -qx 'NoNewPrivs: 1' <<<"$output"
}

@test "testhelper: fds lists open descriptors but not its own directory fd" {
    # Close everything above 2 except 7, whatever bats left open.
    run bash -c 'exec 7</dev/null
        for fd in /proc/$$/fd/*; do
            fd=${fd##*/}
            if [ "$fd" -gt 2 ] && [ "$fd" -ne 7 ]; then eval "exec $fd>&-"; fi
        done
        exec "$1" fds' bash "$H"
    [ "$status" -eq 0 ]
    [ "$output" = "0 1 2 7" ]
}

@test "testhelper: rlimits" {
    run prlimit --nofile=123:456 --core=0:unlimited "$H" rlimits
    [ "$status" -eq 0 ]
    grep -qx 'NOFILE 123 456' <<<"$output"
    grep -qx 'CORE 0 unlimited' <<<"$output"
    [ "$(wc -l <<<"$output")" -eq 16 ]
    if grep -vqE '^[A-Z]+ ([0-9]+|unlimited) ([0-9]+|unlimited)$' <<<"$output"; then return 1; fi
}

@test "testhelper: simple probes" {
    run "$H" ids
    grep -qx "uid: $(id -u)" <<<"$output"
    grep -qx "egid: $(id -g)" <<<"$output"
    grep -q '^groups:' <<<"$output"
    run bash -c 'umask 0027; exec "$1" umask' bash "$H"
    [ "$output" = 0027 ]
    run bash -c 'cd /proc && exec "$1" cwd' bash "$H"
    [ "$output" = /proc ]
    run "$H" hostname
    grep -qx "hostname: $(uname -n)" <<<"$output"
    run "$H" pid
    grep -qE '^pid: [0-9]+$' <<<"$output"
    grep -qE '^ppid: [0-9]+$' <<<"$output"
    run env -i FOO=bar "$H" env
    [ "$output" = FOO=bar ]
    run "$H" oomscore
    [ "$output" = "$(cat /proc/self/oom_score_adj)" ]
    run "$H" personality
    grep -qx 'domain: LINUX' <<<"$output"
    if command -v setarch >/dev/null; then
        run setarch linux32 -R "$H" personality
        grep -qx 'domain: LINUX32' <<<"$output"
        grep -qx 'flags: ADDR_NO_RANDOMIZE' <<<"$output"
        grep -qx 'machine: i686' <<<"$output"
    fi
    run nice -n 7 "$H" sched
    grep -qx 'policy: SCHED_OTHER' <<<"$output"
    grep -qx 'nice: 7' <<<"$output"
    run "$H" ioprio
    grep -qE '^class: IOPRIO_CLASS_' <<<"$output"
    run "$H" affinity
    [ "$output" = "$(awk '$1 == "Cpus_allowed_list:" { print $2 }' /proc/self/status)" ]
    run taskset -c 0 "$H" affinity
    [ "$output" = 0 ]
    run "$H" mempolicy
    grep -qE '^mode: MPOL_' <<<"$output"
    run "$H" timens
    grep -qE '^monotonic: [0-9]+$' <<<"$output"
    grep -qE '^boottime: [0-9]+$' <<<"$output"
    run "$H" tty </dev/null
    grep -qx 'fd0: isatty=0 ttyname=ENOTTY' <<<"$output"
    grep -qx 'winsize: ENOTTY' <<<"$output"
    run "$H" mounts
    grep -qE '^/proc proc proc [^ ]+ [^ ]+ [^ ]+ /$' <<<"$output"
    run "$H" ns
    grep -qxF "mnt: $(readlink /proc/self/ns/mnt)" <<<"$output"
    grep -qxF "pid: $(readlink /proc/self/ns/pid)" <<<"$output"
    run "$H" cgroup
    [ "$output" = "$(cat /proc/self/cgroup)" ]
}

@test "testhelper: exit codes and kill-self" {
    run "$H" exit 42
    [ "$status" -eq 42 ]
    run "$H" exit 0
    [ "$status" -eq 0 ]
    run "$H" kill-self USR1
    [ "$status" -eq $((128 + 10)) ]
    run "$H" kill-self SIGKILL
    [ "$status" -eq 137 ]
    run "$H" kill-self 15
    [ "$status" -eq 143 ]
    command -v unshare >/dev/null && [ "$(id -u)" -eq 0 ] || skip "needs root and unshare"
    # As init of a pid namespace: a real fault for SEGV, the documented fallback for TERM.
    run unshare --pid --fork "$H" kill-self SEGV
    [ "$status" -eq 139 ]
    run unshare --pid --fork "$H" kill-self TERM
    [ "$status" -eq 143 ]
    [[ $output == *"did not kill pid 1"* ]]
}

@test "testhelper: signals reports each signal and exits after TERM" {
    out=$BATS_TEST_TMPDIR/signals.out
    "$H" signals >"$out" &
    pid=$!
    wait_for_file "$out" '^ready$'
    for sig in HUP USR1 USR2 INT QUIT; do
        kill -s "$sig" "$pid"
        wait_for_file "$out" "^got SIG$sig\$"
    done
    kill -s TERM "$pid"
    wait "$pid"
    [ "$(cat "$out")" = "ready
got SIGHUP
got SIGUSR1
got SIGUSR2
got SIGINT
got SIGQUIT
got SIGTERM" ]
}

@test "testhelper: sdnotify to a path socket and an abstract one" {
    sock=$BATS_TEST_TMPDIR/notify.sock
    "$H" notify-recv "$sock" 2 5 >"$BATS_TEST_TMPDIR/recv.out" &
    pid=$!
    wait_for_file "$sock"
    NOTIFY_SOCKET=$sock run "$H" sdnotify READY=1 "STATUS=all good"
    [ "$status" -eq 0 ]
    wait "$pid"
    [ "$(cat "$BATS_TEST_TMPDIR/recv.out")" = "READY=1
STATUS=all good" ]
    [ ! -e "$sock" ]

    abstract=@berth-test-$$-$RANDOM
    "$H" notify-recv "$abstract" 1 5 >"$BATS_TEST_TMPDIR/recv2.out" 2>"$BATS_TEST_TMPDIR/recv2.err" &
    pid=$!
    wait_for_file "$BATS_TEST_TMPDIR/recv2.err" listening
    NOTIFY_SOCKET=$abstract run "$H" sdnotify READY=1
    [ "$status" -eq 0 ]
    wait "$pid"
    [ "$(cat "$BATS_TEST_TMPDIR/recv2.out")" = READY=1 ]

    run env -u NOTIFY_SOCKET "$H" sdnotify READY=1
    [ "$status" -eq 1 ]
    NOTIFY_SOCKET=$BATS_TEST_TMPDIR/nobody.sock run "$H" sdnotify READY=1
    [ "$output" = ENOENT ]
}

@test "testhelper: listen-fds" {
    run env -u LISTEN_FDS "$H" listen-fds
    [ "$status" -eq 1 ]
    LISTEN_FDS=1 LISTEN_PID=1 run "$H" listen-fds
    [ "$status" -eq 1 ]
    [[ $output == *"LISTEN_PID: 1 but pid is"* ]]
    require_cmd systemd-socket-activate
    port=$((20000 + RANDOM % 20000))
    systemd-socket-activate -l "127.0.0.1:$port" "$H" listen-fds >"$BATS_TEST_TMPDIR/out" 2>&1 &
    pid=$!
    retry 50 0.1 bash -c "exec 5<>/dev/tcp/127.0.0.1/$port && read -r line <&5 && echo \"\$line\" >$BATS_TEST_TMPDIR/reply"
    wait "$pid"
    [ "$(cat "$BATS_TEST_TMPDIR/reply")" = "hello from fd 3" ]
    grep -qx served "$BATS_TEST_TMPDIR/out"
}

@test "testhelper: alloc touches memory and reports every MiB" {
    out=$BATS_TEST_TMPDIR/alloc.out
    "$H" alloc 8 >"$out" &
    pid=$!
    wait_for_file "$out" '^allocated 8 MiB$'
    rss=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$pid/status")
    kill "$pid"
    wait "$pid" || true
    [ "$(wc -l <"$out")" -eq 8 ]
    [ "$rss" -ge $((8 * 1024)) ]
}

@test "testhelper: cat-stdin-hash matches sha256sum byte for byte" {
    f=$BATS_TEST_TMPDIR/data
    head -c 3000001 /dev/urandom >"$f"
    run "$H" cat-stdin-hash <"$f"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "sha256: $(sha256sum <"$f" | cut -d' ' -f1)" ]
    [ "${lines[1]}" = "bytes: 3000001" ]
    run "$H" cat-stdin-hash </dev/null
    [ "${lines[0]}" = "sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" ]
    [ "${lines[1]}" = "bytes: 0" ]
}

@test "testhelper: forkbomb counts forks and names the error under a pids limit" {
    run "$H" forkbomb 0.5 25
    [ "$status" -eq 0 ]
    grep -qx 'forks: 25' <<<"$output"
    grep -qx 'first_error: none' <<<"$output"

    [ "$(id -u)" -eq 0 ] && [ -d /sys/fs/cgroup/pids ] && [ -e /sys/fs/cgroup/pids/cgroup.procs ] ||
        skip "needs root and a cgroup v1 pids hierarchy"
    cg=/sys/fs/cgroup/pids/$BERTH_CID
    mkdir "$cg"
    echo 10 >"$cg/pids.max"
    run sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" forkbomb 1' sh "$cg" "$H"
    rmdir "$cg"
    [ "$status" -eq 0 ]
    grep -qx 'forks: 9' <<<"$output"
    grep -qx 'first_error: EAGAIN' <<<"$output"
}

@test "testhelper: spin uses cpu time, counter counts" {
    run "$H" spin 0.3
    [ "$status" -eq 0 ]
    wall=$(awk '$1 == "wall:" { printf "%d", $2 * 1000 }' <<<"$output")
    cpu=$(awk '$1 == "cpu:" { printf "%d", $2 * 1000 }' <<<"$output")
    # Single threaded: never more cpu than wall time; how much less depends on the load.
    [ "$wall" -ge 300 ]
    [ "$cpu" -ge 30 ]
    [ "$cpu" -le $((wall + 20)) ]

    f=$BATS_TEST_TMPDIR/counter
    "$H" counter "$f" &
    pid=$!
    sleep 0.3
    a=$(cat "$f")
    sleep 0.2
    b=$(cat "$f")
    kill "$pid"
    wait "$pid" || true
    [ "$a" -ge 5 ]
    [ "$b" -gt "$a" ]
}

@test "testhelper: write, open, mkdir, mknod and syscall-getpid print ok or the errno" {
    d=$BATS_TEST_TMPDIR
    run "$H" write "$d/f" "some text"
    [ "$output" = ok ]
    [ "$(cat "$d/f")" = "some text" ]
    run "$H" write "$d/missing/f" x
    [ "$status" -eq 1 ]
    [ "$output" = ENOENT ]
    run "$H" open "$d/f" rw
    [ "$output" = ok ]
    run "$H" open "$d/nothing"
    [ "$status" -eq 1 ]
    [ "$output" = ENOENT ]
    run "$H" mkdir "$d/dir"
    [ "$output" = ok ]
    [ -d "$d/dir" ]
    run "$H" mkdir "$d/dir"
    [ "$output" = EEXIST ]
    run "$H" mknod "$d/fifo" p
    [ "$output" = ok ]
    [ -p "$d/fifo" ]
    if [ "$(id -u)" -eq 0 ]; then
        run "$H" mknod "$d/null" c 1 3
        [ "$output" = ok ]
        [ -c "$d/null" ]
    fi
    run "$H" syscall-getpid
    [ "$output" = ok ]
    if command -v setpriv >/dev/null && [ "$(id -u)" -eq 0 ]; then
        run setpriv --reuid=65534 --regid=65534 --clear-groups "$H" open "$d/f" w
        [ "$output" = EACCES ]
    fi
}

@test "testhelper: exe-attack positive control writes, watch on the host is blocked" {
    run env TMPDIR="$BATS_TEST_TMPDIR" "$H" exe-attack control 5
    echo "status $status: $output" # shown if the test fails
    [ "$status" -eq 0 ]
    grep -qE '^target [0-9]+ exe=.*/victim-[0-9]+ open=OK write=OK$' <<<"$output"
    [ "${lines[-1]}" = "result: wrote" ]
    [ -z "$(find "$BATS_TEST_TMPDIR" -maxdepth 1 -name 'victim*')" ]

    # Alone in a pid namespace there is nobody to attack. (On the host it would go after
    # every process whose binary it cannot see, other containers' included.)
    command -v unshare >/dev/null && [ "$(id -u)" -eq 0 ] || skip "needs root and unshare"
    run unshare --pid --fork --mount-proc "$H" exe-attack watch 0.3
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = ready ]
    [ "${lines[-1]}" = "result: blocked" ]
    if grep -q '^target .* write=OK' <<<"$output"; then return 1; fi
}

@test "testhelper: exe-attack watch catches a host binary that enters its pid namespace" {
    [ "$(id -u)" -eq 0 ] || skip "needs root"
    require_cmd unshare nsenter chroot
    # The CVE-2019-5736 setting without a runtime: a watcher chrooted into a rootfs as pid 1
    # of a namespace, and a host binary it cannot see, entering that namespace from outside.
    # Copies only, so the attack never touches a real host binary.
    d=$BATS_TEST_TMPDIR
    "$BERTH_SRCDIR/tests/helpers/make-rootfs.sh" "$d/rootfs" "$H"
    mkdir "$d/host"
    cp "$(command -v sleep)" "$d/host/fake-runtime"
    cp "$(command -v nsenter)" "$d/host/nsenter"
    sum=$(sha256sum <"$d/host/fake-runtime")
    unshare --pid --fork --mount --propagation private sh -c \
        'mount -t proc proc "$1/proc" && exec chroot "$1" /bin/berth-testhelper exe-attack watch 5' \
        sh "$d/rootfs" >"$d/watch.out" 2>&1 &
    pid=$!
    wait_for_file "$d/watch.out" '^ready$'
    watcher=$(pgrep -P "$pid" -f 'exe-attack watch')
    "$d/host/nsenter" --target "$watcher" --pid -- "$d/host/fake-runtime" 0.3
    wait "$pid"
    cat "$d/watch.out"
    grep -qE "^target [0-9]+ exe=$d/host/(fake-runtime|nsenter) open=OK write=OK\$" "$d/watch.out"
    [ "$(tail -n1 "$d/watch.out")" = "result: wrote" ]
    # The write puts back what was there.
    [ "$(sha256sum <"$d/host/fake-runtime")" = "$sum" ]
    umount "$d/rootfs/proc" 2>/dev/null || true
}

@test "console-receiver: receives the pty, resizes it, feeds input, copies output" {
    [ -x "$BERTH_CONSOLE_RECEIVER" ] || skip "console-receiver not built"
    sock=$BATS_TEST_TMPDIR/console.sock
    "$BERTH_CONSOLE_RECEIVER" "$sock" --resize 33x111 --input $'typed\n' --timeout 10 \
        --out "$BATS_TEST_TMPDIR/console.out" 2>"$BATS_TEST_TMPDIR/console.err" &
    pid=$!
    wait_for_file "$sock"
    run "$H" console-send "$sock" sh -c 'sleep 0.3; read -r x; echo "line=$x"; exec "$0" tty' "$H"
    [ "$status" -eq 0 ]
    wait "$pid"
    out=$(tr -d '\r' <"$BATS_TEST_TMPDIR/console.out")
    [[ $out == *"line=typed"* ]]
    [[ $out == *"winsize: 33x111"* ]]
    [[ $out == *"fd0: isatty=1 ttyname=/dev/pts/"* ]]
    [[ $out == *"ctty: yes"* ]]
    grep -qE '^received pty /dev/pts/[0-9]+$' "$BATS_TEST_TMPDIR/console.err"
    [ ! -e "$sock" ]

    # Nobody connects: it gives up and still removes the socket.
    run "$BERTH_CONSOLE_RECEIVER" "$sock" --timeout 0.2
    [ "$status" -eq 1 ]
    [ ! -e "$sock" ]
}

@test "make-rootfs.sh: builds a usable rootfs, again quickly, and refuses /" {
    dir=$BATS_TEST_TMPDIR/rootfs
    run "$BERTH_SRCDIR/tests/helpers/make-rootfs.sh" "$dir" "$H"
    [ "$status" -eq 0 ]
    for d in proc sys dev tmp etc root home/user run var; do
        [ -d "$dir/$d" ]
    done
    [ -x "$dir/bin/busybox" ]
    [ -x "$dir/bin/berth-testhelper" ]
    [ "$(readlink "$dir/bin/sh")" = busybox ]
    [ "$(find "$dir/bin" -type l | wc -l)" -eq "$("$dir/bin/busybox" --list | grep -vcx busybox)" ]
    grep -qx 'user:x:1000:1000:user:/home/user:/bin/sh' "$dir/etc/passwd"
    grep -qx 'extra:x:2000:user' "$dir/etc/group"
    [ -s "$dir/etc/hostname" ]
    [ "$(stat -c %a "$dir/tmp")" = 1777 ]

    before=$(find "$dir" -printf '%p %i %Y %s\n' | sort)
    run "$BERTH_SRCDIR/tests/helpers/make-rootfs.sh" "$dir" "$H"
    [ "$status" -eq 0 ]
    [ "$(find "$dir" -printf '%p %i %Y %s\n' | sort)" = "$before" ]

    run "$BERTH_SRCDIR/tests/helpers/make-rootfs.sh" /
    [ "$status" -ne 0 ]
    run "$BERTH_SRCDIR/tests/helpers/make-rootfs.sh" ""
    [ "$status" -ne 0 ]
    run "$BERTH_SRCDIR/tests/helpers/make-rootfs.sh" /tmp/..
    [ "$status" -ne 0 ]

    [ "$(id -u)" -eq 0 ] || skip "chroot needs root"
    run chroot "$dir" /bin/sh -c 'id user && berth-testhelper ids'
    [ "$status" -eq 0 ]
    [[ ${lines[0]} == "uid=1000(user) gid=1000(user) groups=1000(user),2000(extra)" ]]
}

@test "helpers.bash: bundle, config and rootfs copy" {
    berth_setup /bin/berth-testhelper -c "two words" '$x'
    [ -f "$BERTH_BUNDLE/config.json" ]
    [ "$(jq -r .process.terminal "$BERTH_BUNDLE/config.json")" = false ]
    [ "$(jq -c .process.args "$BERTH_BUNDLE/config.json")" = '["/bin/berth-testhelper","-c","two words","$x"]' ]
    [ "$(jq -r .root.path "$BERTH_BUNDLE/config.json")" = rootfs ]
    set_args sh -c 'echo hi'
    [ "$(jq -c .process.args "$BERTH_BUNDLE/config.json")" = '["sh","-c","echo hi"]' ]
    update_config '.process.env += [$v]' --arg v FOO=bar
    [ "$(jq -r '.process.env[-1]' "$BERTH_BUNDLE/config.json")" = FOO=bar ]
    run update_config '.process.args = '
    [ "$status" -ne 0 ]
    jq -e . "$BERTH_BUNDLE/config.json" >/dev/null

    # Files are private copies; only the symlinks are shared with the template.
    [ "$(stat -c %i "$ROOTFS/bin/busybox")" != "$(stat -c %i "$BERTH_ROOTFS_TEMPLATE/bin/busybox")" ]
    [ "$(stat -c %i "$ROOTFS/etc/passwd")" != "$(stat -c %i "$BERTH_ROOTFS_TEMPLATE/etc/passwd")" ]
    echo changed >"$ROOTFS/etc/hostname"
    echo changed >"$ROOTFS/bin/ls"
    [ "$(cat "$BERTH_ROOTFS_TEMPLATE/etc/hostname")" != changed ]
    cmp -s "$BERTH_ROOTFS_TEMPLATE/bin/busybox" /bin/busybox
    [ "$(stat -c %a "$ROOTFS/tmp")" = 1777 ]

    [ "$(container_id)" = "$BERTH_CID" ]
    [ "$(container_id 2)" = "$BERTH_CID-2" ]
    [[ $BERTH_ROOT == "$BATS_TEST_TMPDIR"/* ]]
}

@test "helpers.bash: retry, require_cmd" {
    n=$BATS_TEST_TMPDIR/n
    echo 0 >"$n"
    bump() {
        echo $(($(cat "$n") + 1)) >"$n"
        [ "$(cat "$n")" -ge 3 ]
    }
    retry 5 0 bump
    [ "$(cat "$n")" = 3 ]
    run retry 2 0 false
    [ "$status" -eq 1 ]
    run require_cmd sh
    [ "$status" -eq 0 ]
}

@test "helpers.bash: teardown detects and removes leaked processes, mounts and cgroups" {
    [ "$(id -u)" -eq 0 ] || skip "needs root"
    berth_setup
    berth_find_leaks

    # A process that mentions the bundle, like a stray runtime process would.
    (exec -a "fake-shim $BERTH_BUNDLE" sleep 60) &
    # the subshell is bash until its exec: wait for the name teardown must find
    retry 100 0.05 grep -qa fake-shim "/proc/$!/cmdline"
    mkdir "$BATS_TEST_TMPDIR/mnt"
    mount -t tmpfs none "$BATS_TEST_TMPDIR/mnt"
    cgparent=/sys/fs/cgroup/pids
    [ -d "$cgparent" ] || cgparent=/sys/fs/cgroup/unified
    [ -d "$cgparent" ] || cgparent=/sys/fs/cgroup
    mkdir -p "$cgparent/berth-$BERTH_CID-x"

    run berth_teardown
    [ "$status" -eq 1 ]
    [[ $output == *"LEAK: process"*"fake-shim $BERTH_BUNDLE"* ]]
    [[ $output == *"LEAK: mount $BATS_TEST_TMPDIR/mnt"* ]]
    [[ $output == *"LEAK: cgroup $cgparent/berth-$BERTH_CID-x"* ]]

    # berth_teardown cleaned up, so the real teardown finds nothing.
    wait || true
    berth_find_leaks
    [ ! -d "$cgparent/berth-$BERTH_CID-x" ]
    if grep -qF "$BATS_TEST_TMPDIR/mnt" /proc/self/mountinfo; then return 1; fi
}
