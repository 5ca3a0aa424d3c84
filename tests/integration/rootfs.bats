#!/usr/bin/env bats
# The root filesystem: root.path and root.readonly, mounts (order, types, flags, propagation,
# recursive read-only), targets resolved inside the rootfs, devices, masked and read-only
# paths, sysctls, --no-pivot.

# jq filters and container-side shell code are single-quoted on purpose:
# shellcheck disable=SC2016

load helpers
bats_require_minimum_version 1.5.0

setup() {
    berth_setup
    cd "$BERTH_BUNDLE" || return 1
    HOST_MOUNTS=()
}

teardown() {
    local i
    # Host-side mounts a test made, deepest first.
    for ((i = ${#HOST_MOUNTS[@]} - 1; i >= 0; i--)); do
        umount -l "${HOST_MOUNTS[i]}" 2>/dev/null || true
    done
    berth_teardown
}

host_mount() { # mount ARGS... TARGET: a host mount the teardown undoes
    mount "$@"
    HOST_MOUNTS+=("${!#}")
}

# mount_line OUTPUT MOUNTPOINT: the helper's `mounts` line for MOUNTPOINT (the last one).
mount_line() {
    awk -v m="$2" '$1 == m { line = $0 } END { print line }' <<<"$1"
}

# has_opt "a,b,c" b
has_opt() {
    [[ ,$1, == *,"$2",* ]]
}

@test "rootfs: root.path is relative to the bundle, or absolute" {
    mkdir -p "$BERTH_BUNDLE/images"
    mv "$ROOTFS" "$BERTH_BUNDLE/images/root"
    echo relative >"$BERTH_BUNDLE/images/root/marker"
    update_config '.root.path = "images/root"'
    set_args cat /marker
    cd "$BATS_TEST_TMPDIR"
    run --separate-stderr berth run --bundle bundle "$(container_id)"
    [ "$status" -eq 0 ]
    [ "$output" = relative ]

    update_config '.root.path = $p' --arg p "$BERTH_BUNDLE/images/root"
    set_args sleep 100
    berth create --bundle "$BERTH_BUNDLE" "$(container_id 2)"
    [ "$(state_field "$(container_id 2)" .rootfs)" = "$(realpath "$BERTH_BUNDLE/images/root")" ]
    [ "$(state_field "$(container_id 2)" .bundle)" = "$(realpath "$BERTH_BUNDLE")" ]
}

@test "rootfs: root.readonly makes / read-only (EROFS), and only /" {
    update_config '.root.readonly = true | .mounts += [{destination: "/tmp", type: "tmpfs",
        source: "tmpfs", options: ["nosuid", "nodev"]}]'
    set_args sh -c "$TESTHELPER write /newfile x; $TESTHELPER write /tmp/newfile x; $TESTHELPER mkdir /newdir; true"
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = EROFS ]
    [ "${lines[1]}" = ok ]
    [ "${lines[2]}" = EROFS ]
    [ ! -e "$ROOTFS/newfile" ]

    update_config '.root.readonly = false'
    set_args "$TESTHELPER" write /newfile hello
    run --separate-stderr berth run "$(container_id)"
    [ "$output" = ok ]
    [ "$(cat "$ROOTFS/newfile")" = hello ]
}

@test "rootfs: mounts are made in config order" {
    mkdir "$BATS_TEST_TMPDIR/src"
    echo bound >"$BATS_TEST_TMPDIR/src/file"
    # A tmpfs, then a bind inside it: both visible.
    update_config '.mounts += [
        {destination: "/mnt", type: "tmpfs", source: "tmpfs", options: ["size=1m"]},
        {destination: "/mnt/sub/deeper", type: "bind", source: $src, options: ["bind"]}]' \
        --arg src "$BATS_TEST_TMPDIR/src"
    set_args sh -c "cat /mnt/sub/deeper/file; $TESTHELPER mounts | awk '{print \$1}'"
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ] || {
        echo "$stderr"
        return 1
    }
    [ "${lines[0]}" = bound ]
    # mountinfo lists them in the order they were made, the config's.
    order=$(printf '%s\n' "${lines[@]:1}" | grep -nxE '/proc|/dev|/dev/pts|/sys|/mnt|/mnt/sub/deeper' |
        cut -d: -f2 | tr '\n' ' ')
    [ "$order" = "/proc /dev /dev/pts /sys /mnt /mnt/sub/deeper " ]

    # The other way round, the tmpfs hides the bind.
    update_config '.mounts |= (.[0:-2] + [.[-1], .[-2]])'
    set_args sh -c 'ls /mnt | wc -l'
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ]
    [ "$output" = 0 ]
}

@test "rootfs: bind, rbind, tmpfs with options, proc, sysfs, devpts, mqueue, cgroup" {
    src=$BATS_TEST_TMPDIR/src
    mkdir -p "$src/sub"
    echo top >"$src/file"
    host_mount -t tmpfs -o size=1m berth-test-sub "$src/sub"
    echo submount >"$src/sub/file"
    update_config '.mounts += [
        {destination: "/bind", type: "bind", source: $src, options: ["bind"]},
        {destination: "/rbind", type: "none", source: $src, options: ["rbind"]},
        {destination: "/tmpfs", type: "tmpfs", source: "tmpfs",
         options: ["size=2m", "mode=1730", "uid=1000", "gid=2000", "nr_inodes=100"]},
        {destination: "/relative-source", type: "bind", source: "rootfs/etc", options: ["bind"]}]' \
        --arg src "$src"
    set_args sh -c "cat /bind/file; cat /bind/sub/file 2>/dev/null || echo no-submount; cat /rbind/sub/file;
        stat -c '%a %u %g' /tmpfs; cat /relative-source/hostname; $TESTHELPER mounts"
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ] || {
        echo "$stderr"
        return 1
    }
    [ "${lines[0]}" = top ]
    [ "${lines[1]}" = no-submount ]
    [ "${lines[2]}" = submount ]
    [ "${lines[3]}" = "1730 1000 2000" ]
    [ "${lines[4]}" = "$(cat "$ROOTFS/etc/hostname")" ]
    m=$output
    read -r -a f <<<"$(mount_line "$m" /tmpfs)"
    [ "${f[1]}" = tmpfs ]
    has_opt "${f[4]}" size=2048k
    has_opt "${f[4]}" nr_inodes=100
    read -r -a f <<<"$(mount_line "$m" /rbind/sub)"
    [ "${f[1]}" = tmpfs ]
    [ -z "$(mount_line "$m" /bind/sub)" ]
    for pair in /proc:proc /sys:sysfs /dev/pts:devpts /dev/mqueue:mqueue /dev/shm:tmpfs /dev:tmpfs; do
        read -r -a f <<<"$(mount_line "$m" "${pair%%:*}")"
        [ "${f[1]}" = "${pair#*:}" ] || {
            echo "${pair%%:*} is ${f[1]:-not mounted}, expected ${pair#*:}"
            return 1
        }
    done
    # cgroup: the container's own hierarchy (v1 here, or cgroup2), read-only as configured.
    grep -qE '^/sys/fs/cgroup(/[^ ]+)? cgroup2? ' <<<"$m"
    while read -r -a f; do
        has_opt "${f[3]}" ro || {
            echo "cgroup mount ${f[0]} is not read-only: ${f[3]}"
            return 1
        }
    done < <(awk '$2 == "cgroup" || $2 == "cgroup2"' <<<"$m")
    # devpts: its own instance with the configured options.
    read -r -a f <<<"$(mount_line "$m" /dev/pts)"
    has_opt "${f[4]}" ptmxmode=666
    has_opt "${f[4]}" gid=5
}

@test "rootfs: ro, nosuid, nodev, noexec, relatime, strictatime show in mountinfo and work" {
    mkdir "$BATS_TEST_TMPDIR/src"
    update_config '.root.readonly = false | .mounts += [
        {destination: "/t-ro", type: "tmpfs", source: "tmpfs", options: ["ro", "nosuid", "nodev", "noexec"]},
        {destination: "/t-rw", type: "tmpfs", source: "tmpfs", options: ["rw", "strictatime"]},
        {destination: "/b-ro", type: "bind", source: $src, options: ["bind", "ro", "nosuid", "nodev", "noexec", "relatime"]},
        {destination: "/b-noexec", type: "bind", source: "/bin", options: ["rbind", "noexec"]}]' \
        --arg src "$BATS_TEST_TMPDIR/src"
    set_args sh -c "$TESTHELPER mounts; $TESTHELPER write /t-ro/f x; $TESTHELPER write /b-ro/f x;
        $TESTHELPER write /t-rw/f x; /b-noexec/busybox true 2>/dev/null && echo exec-ok || echo exec-refused"
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ] || {
        echo "$stderr"
        return 1
    }
    for mp in /t-ro /b-ro; do
        read -r -a f <<<"$(mount_line "$output" "$mp")"
        for o in ro nosuid nodev noexec; do
            has_opt "${f[3]}" "$o" || {
                echo "$mp lacks $o: ${f[3]}"
                return 1
            }
        done
    done
    read -r -a f <<<"$(mount_line "$output" /b-ro)"
    has_opt "${f[3]}" relatime
    read -r -a f <<<"$(mount_line "$output" /t-rw)"
    has_opt "${f[3]}" rw
    if has_opt "${f[3]}" relatime || has_opt "${f[3]}" noatime; then
        echo "strictatime did not take: ${f[3]}"
        return 1
    fi
    read -r -a f <<<"$(mount_line "$output" /b-noexec)"
    has_opt "${f[3]}" noexec
    [ "${lines[-4]}" = EROFS ]
    [ "${lines[-3]}" = EROFS ]
    [ "${lines[-2]}" = ok ]
    [ "${lines[-1]}" = exec-refused ]
    [ ! -e "$BATS_TEST_TMPDIR/src/f" ]
}

@test "rootfs: rro makes a bind read-only recursively (mount_setattr), ro only on top" {
    src=$BATS_TEST_TMPDIR/src
    mkdir -p "$src/sub"
    host_mount -t tmpfs -o size=1m berth-test-sub "$src/sub"
    update_config '.mounts += [
        {destination: "/rro", type: "bind", source: $src, options: ["rbind", "rro"]},
        {destination: "/ro", type: "bind", source: $src, options: ["rbind", "ro"]}]' \
        --arg src "$src"
    set_args sh -c "for f in /rro/a /rro/sub/a /ro/a /ro/sub/b; do $TESTHELPER write \$f x; done"
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ] || {
        echo "$stderr"
        return 1
    }
    [ "${lines[*]}" = "EROFS EROFS EROFS ok" ]
    [ -e "$src/sub/b" ]
    [ ! -e "$src/sub/a" ]
    [ ! -e "$src/a" ]
}

@test "rootfs: mount propagation rprivate, rslave and rshared" {
    src=$BATS_TEST_TMPDIR/src
    mkdir -p "$src"
    # A shared host mount, so that propagation has something to propagate.
    host_mount --bind "$src" "$src"
    mount --make-shared "$src"
    update_config '.mounts += [
        {destination: "/private", type: "bind", source: $src, options: ["rbind", "rprivate"]},
        {destination: "/slave", type: "bind", source: $src, options: ["rbind", "rslave"]},
        {destination: "/shared", type: "bind", source: $src, options: ["rbind", "rshared"]}]' \
        --arg src "$src"
    set_args sh -c "$TESTHELPER mounts; echo ready; sleep 1000"
    id=$(container_id)
    out=$BATS_TEST_TMPDIR/out
    berth run -d "$id" >"$out" 2>&1
    wait_for_file "$out" '^ready$'
    read -r -a f <<<"$(mount_line "$(cat "$out")" /private)"
    [ "${f[5]}" = private ]
    read -r -a f <<<"$(mount_line "$(cat "$out")" /slave)"
    [[ ${f[5]} =~ ^master:[0-9]+$ ]]
    read -r -a f <<<"$(mount_line "$(cat "$out")" /shared)"
    [[ ${f[5]} == *shared:* ]]

    # A mount made on the host afterwards reaches the slave and the shared copy only.
    mkdir "$src/late"
    host_mount -t tmpfs berth-test-late "$src/late"
    pid=$(state_field "$id" .pid)
    inside=$(awk '{ print $5 }' "/proc/$pid/mountinfo")
    grep -qx /slave/late <<<"$inside"
    grep -qx /shared/late <<<"$inside"
    if grep -qx /private/late <<<"$inside"; then
        echo "a host mount reached the rprivate bind"
        return 1
    fi
    berth delete --force "$id"
}

@test "rootfs: rootfsPropagation applies to the container's /" {
    update_config '.linux.rootfsPropagation = "shared"'
    set_args "$TESTHELPER" mounts
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ]
    read -r -a f <<<"$(mount_line "$output" /)"
    [[ ${f[5]} == *shared:* ]]
    update_config '.linux.rootfsPropagation = "rprivate"'
    run --separate-stderr berth run "$(container_id)"
    read -r -a f <<<"$(mount_line "$output" /)"
    [ "${f[5]}" = private ]
}

@test "rootfs: mount targets through symlinks stay inside the rootfs" {
    # Absolute and relative links to /etc that would reach the host's /etc if followed there.
    ln -s /etc "$ROOTFS/evil"
    ln -s ../../../../../../../../../../../etc "$ROOTFS/evil-rel"
    echo secret >"$BATS_TEST_TMPDIR/hostfile"
    update_config '.root.readonly = false | .mounts += [
        {destination: "/evil/berth-test-dir", type: "tmpfs", source: "tmpfs"},
        {destination: "/evil-rel/berth-test-dir2/sub", type: "tmpfs", source: "tmpfs"},
        {destination: "/evil/berth-test-file", type: "bind", source: $hf, options: ["bind"]}]' \
        --arg hf "$BATS_TEST_TMPDIR/hostfile"
    set_args sh -c "cat /etc/berth-test-file; $TESTHELPER mounts | awk '{print \$1}'"
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ] || {
        echo "$stderr"
        return 1
    }
    [ "${lines[0]}" = secret ]
    grep -qx /etc/berth-test-dir <<<"$output"
    grep -qx /etc/berth-test-dir2/sub <<<"$output"
    grep -qx /etc/berth-test-file <<<"$output"
    # The mount points were made in the rootfs's /etc, nothing in the host's.
    [ -d "$ROOTFS/etc/berth-test-dir" ]
    [ -d "$ROOTFS/etc/berth-test-dir2/sub" ]
    [ -f "$ROOTFS/etc/berth-test-file" ]
    [ ! -e /etc/berth-test-dir ]
    [ ! -e /etc/berth-test-dir2 ]
    [ ! -e /etc/berth-test-file ]
}

@test "rootfs: a mount target through a link to a host-only path never touches the host" {
    host=$BATS_TEST_TMPDIR/hostside
    mkdir "$host"
    ln -s "$host" "$ROOTFS/evil"
    ln -s "../../../../../../../../../../..$host/file" "$ROOTFS/evil-file"
    echo secret >"$BATS_TEST_TMPDIR/hostfile"
    update_config '.root.readonly = false | .mounts += [
        {destination: "/evil/dir", type: "tmpfs", source: "tmpfs"},
        {destination: "/evil-file", type: "bind", source: $hf, options: ["bind"]}]' \
        --arg hf "$BATS_TEST_TMPDIR/hostfile"
    set_args true
    # The link dangles inside the rootfs: berth may create the path there, or refuse.
    run --separate-stderr berth run "$(container_id)"
    [ -z "$(ls -A "$host")" ]
    if [ "$status" -eq 0 ]; then
        [ -d "$ROOTFS$host/dir" ]
    else
        [[ $stderr == *"mount /evil/dir"* ]]
        assert_nothing_left
    fi
}

@test "rootfs: a mount target with .. cannot climb out of the rootfs" {
    host=$BATS_TEST_TMPDIR/hostside
    mkdir "$host"
    rel=$(realpath --relative-to="$ROOTFS" "$host")
    update_config '.root.readonly = false | .mounts += [
        {destination: ("/" + $rel + "/dir"), type: "tmpfs", source: "tmpfs"}]' --arg rel "$rel"
    set_args true
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ]
    [ -z "$(ls -A "$host")" ]
}

@test "rootfs: the default devices, links, /dev/pts and /dev/shm" {
    set_args sh -c 'for d in null zero full random urandom tty; do stat -c "%n %F %t:%T %a" /dev/$d; done
        for l in fd stdin stdout stderr ptmx; do echo "$l -> $(readlink /dev/$l)"; done
        ls -A /dev | tr "\n" " "; echo
        head -c 4 /dev/zero | od -An -tx1
        echo x >/dev/full 2>/dev/null && echo full-ok || echo full-ENOSPC
        echo discarded >/dev/null && echo null-ok
        head -c 16 /dev/urandom | wc -c
        stat -f -c %T /dev/pts /dev/shm
        ls /dev/fd/ | tr "\n" " "'
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ] || {
        echo "$stderr"
        return 1
    }
    [ "${lines[0]}" = "/dev/null character special file 1:3 666" ]
    [ "${lines[1]}" = "/dev/zero character special file 1:5 666" ]
    [ "${lines[2]}" = "/dev/full character special file 1:7 666" ]
    [ "${lines[3]}" = "/dev/random character special file 1:8 666" ]
    [ "${lines[4]}" = "/dev/urandom character special file 1:9 666" ]
    [ "${lines[5]}" = "/dev/tty character special file 5:0 666" ]
    [ "${lines[6]}" = "fd -> /proc/self/fd" ]
    [ "${lines[7]}" = "stdin -> /proc/self/fd/0" ]
    [ "${lines[8]}" = "stdout -> /proc/self/fd/1" ]
    [ "${lines[9]}" = "stderr -> /proc/self/fd/2" ]
    [ "${lines[10]}" = "ptmx -> pts/ptmx" ]
    # Nothing of the host's /dev (no console without a terminal).
    [ "$(tr ' ' '\n' <<<"${lines[11]}" | sort | tr '\n' ' ')" = \
        " fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero " ]
    [ "$(tr -d ' ' <<<"${lines[12]}")" = 00000000 ]
    [ "${lines[13]}" = full-ENOSPC ]
    [ "${lines[14]}" = null-ok ]
    [ "${lines[15]}" = 16 ]
    [ "${lines[16]}" = devpts ]
    [ "${lines[17]}" = tmpfs ]
}

@test "rootfs: linux.devices creates nodes with mode, uid and gid, and they can be used" {
    update_config '.linux.devices = [
        {path: "/dev/mynull", type: "c", major: 1, minor: 3, fileMode: 432, uid: 1000, gid: 2000},
        {path: "/dev/myzero", type: "c", major: 1, minor: 5},
        {path: "/dev/myfifo", type: "p", fileMode: 384},
        {path: "/dev/mynull2", type: "c", major: 1, minor: 3, fileMode: 438}] |
        .linux.resources.devices += [{allow: true, type: "c", major: 1, minor: 3, access: "rwm"},
                                     {allow: true, type: "c", major: 1, minor: 5, access: "rwm"}]'
    set_args sh -c 'stat -c "%n %F %t:%T %a %u %g" /dev/mynull /dev/myzero; stat -c "%n %F %a" /dev/myfifo
        echo x >/dev/mynull2 && echo write-ok; head -c 2 /dev/myzero | wc -c'
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ] || {
        echo "$stderr"
        return 1
    }
    [ "${lines[0]}" = "/dev/mynull character special file 1:3 660 1000 2000" ]
    [[ ${lines[1]} == "/dev/myzero character special file 1:5 "* ]]
    [ "${lines[2]}" = "/dev/myfifo fifo 600" ]
    [ "${lines[3]}" = write-ok ]
    [ "${lines[4]}" = 2 ]
}

@test "rootfs: linux.devices in a directory /dev does not have yet (/dev/net/tun)" {
    update_config '.linux.devices = [{path: "/dev/net/tun", type: "c", major: 10, minor: 200,
        fileMode: 438, uid: 0, gid: 0}]'
    set_args stat -c "%n %F %t:%T %a" /dev/net/tun
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ] || {
        echo "$stderr"
        return 1
    }
    [ "$output" = "/dev/net/tun character special file a:c8 666" ]
}

@test "rootfs: maskedPaths read as empty, readonlyPaths refuse writes" {
    mkdir -p "$ROOTFS/opt/secretdir"
    echo hidden >"$ROOTFS/opt/secretdir/key"
    echo hidden >"$ROOTFS/etc/secret"
    update_config '.root.readonly = false |
        .linux.maskedPaths += ["/etc/secret", "/opt/secretdir", "/does/not/exist"] |
        .linux.readonlyPaths += ["/etc", "/also/missing"]'
    set_args sh -c "cat /etc/secret | wc -c; ls -A /opt/secretdir | wc -l;
        $TESTHELPER write /opt/secretdir/new x; $TESTHELPER write /etc/newfile x;
        $TESTHELPER write /root/newfile x; $TESTHELPER write /proc/sys/kernel/hostname x;
        cat /proc/timer_list 2>/dev/null | wc -c; ls -A /sys/firmware | wc -l"
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ] || {
        echo "$stderr"
        return 1
    }
    [ "${lines[0]}" = 0 ]
    [ "${lines[1]}" = 0 ]
    [ "${lines[2]}" = EROFS ]
    [ "${lines[3]}" = EROFS ]
    [ "${lines[4]}" = ok ]
    # /proc/sys is in the default readonlyPaths.
    [ "${lines[5]}" = EROFS ]
    # Masked by the default config (where this kernel has them).
    [ "${lines[6]}" = 0 ]
    [ "${lines[7]}" = 0 ]
    [ "$(cat "$ROOTFS/etc/secret")" = hidden ]
    [ -e "$ROOTFS/root/newfile" ]
    [ ! -e "$ROOTFS/etc/newfile" ]
}

@test "rootfs: linux.sysctl sets a sysctl of the container's network namespace" {
    host_before=$(cat /proc/sys/net/ipv4/ip_forward)
    want=$((1 - host_before))
    update_config '.linux.sysctl = {"net.ipv4.ip_forward": $v, "kernel.domainname": "sysctl.example"}' \
        --arg v "$want"
    set_args sh -c 'cat /proc/sys/net/ipv4/ip_forward; cat /proc/sys/kernel/domainname'
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ] || {
        echo "$stderr"
        return 1
    }
    [ "${lines[0]}" = "$want" ]
    [ "${lines[1]}" = sysctl.example ]
    [ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$host_before" ]

    # One that is not namespaced is refused, naming it; so is one of a namespace not owned.
    update_config '.linux.sysctl = {"vm.swappiness": "10"}'
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 1 ]
    [[ $stderr == *"linux.sysctl: vm.swappiness is not in a namespace of this container"* ]]
    update_config '.linux.sysctl = {"net.ipv4.ip_forward": "1"} |
        .linux.namespaces |= map(select(.type != "network"))'
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 1 ]
    [[ $stderr == *"linux.sysctl: net.ipv4.ip_forward is not in a namespace of this container"* ]]
    [ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$host_before" ]
    assert_nothing_left
}

@test "rootfs: --no-pivot runs the container with MS_MOVE and chroot" {
    set_args sh -c "ls / | tr '\n' ' '; echo; echo pid \$\$"
    run --separate-stderr berth run --no-pivot "$(container_id)"
    [ "$status" -eq 0 ] || {
        echo "$stderr"
        return 1
    }
    [ "${lines[0]}" = "$(ls "$ROOTFS" | tr '\n' ' ')" ]
    [ "${lines[1]}" = "pid 1" ]
    # Same devices and mounts as with pivot_root.
    set_args sh -c 'ls /dev | wc -l'
    run --separate-stderr berth run --no-pivot "$(container_id)"
    with_no_pivot=$output
    run --separate-stderr berth run "$(container_id)"
    [ "$output" = "$with_no_pivot" ]
    assert_nothing_left
}

@test "rootfs: a relative mount destination is relative to / (runtime-spec 1.2)" {
    update_config '.mounts += [{destination: "rel/mnt", type: "tmpfs", source: "tmpfs"}]'
    set_args sh -c "$TESTHELPER mounts | awk '{print \$1}' | grep -x /rel/mnt"
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ]
    [ "$output" = /rel/mnt ]
}
