#!/usr/bin/env bats
# Namespaces: created (pid, network, uts, ipc, cgroup, mount, user with mappings, time with
# offsets) and joined by path.

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

# ns_of OUTPUT NAME: the link for NAME in the helper's `ns` output.
ns_of() {
    awk -v k="$2:" '$1 == k { print $2 }' <<<"$1"
}

# A second bundle for a second container, sharing this test's rootfs template.
make_bundle2() {
    BUNDLE2=$BATS_TEST_TMPDIR/bundle2
    berth_make_bundle "$BUNDLE2" "$@"
}

# with_userns: a user namespace mapping 0-65535 to 100000+ (the mapped root must reach the
# bundle through the test's 0700 temporary directories).
with_userns() {
    allow_traversal "${1:-$BERTH_BUNDLE}"
    BERTH_BUNDLE=${1:-$BERTH_BUNDLE} update_config '.linux.namespaces += [{type: "user"}] |
        .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}] |
        .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]'
}

update_config2() {
    BERTH_BUNDLE=$BUNDLE2 update_config "$@"
}

@test "namespaces: the process is pid 1 of its own pid namespace" {
    set_args "$TESTHELPER" pid
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "pid: 1" ]
    [ "${lines[1]}" = "ppid: 0" ]
    set_args sh -c 'echo $$; ls -d /proc/[0-9]* | wc -l'
    run --separate-stderr berth run "$(container_id)"
    [ "${lines[0]}" = 1 ]
    # Only sh and ls (and the wc beside it) live in there.
    [ "${lines[1]}" -le 3 ]
}

@test "namespaces: own hostname and domainname, the host's unchanged" {
    host_name=$(uname -n)
    host_domain=$(cat /proc/sys/kernel/domainname)
    update_config '.hostname = "berth-test" | .domainname = "example.org"'
    set_args "$TESTHELPER" hostname
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "hostname: berth-test" ]
    [ "${lines[1]}" = "domainname: example.org" ]
    [ "$(uname -n)" = "$host_name" ]
    [ "$(cat /proc/sys/kernel/domainname)" = "$host_domain" ]

    # The longest name the kernel takes (64 bytes).
    long=$(printf 'h%.0s' {1..64})
    update_config '.hostname = $h' --arg h "$long"
    run --separate-stderr berth run "$(container_id)"
    [ "${lines[0]}" = "hostname: $long" ]
}

@test "namespaces: an empty network namespace with only lo" {
    set_args sh -c 'ip -o link show; echo ---; tail -n +3 /proc/net/dev'
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ]
    [ "$(sed -n '1,/^---$/p' <<<"$output" | grep -vc '^---$')" -eq 1 ]
    [[ ${lines[0]} =~ ^1:\ lo: ]]
    [ "$(sed '1,/^---$/d' <<<"$output" | awk -F: '{ gsub(/ /, "", $1); print $1 }')" = lo ]
}

@test "namespaces: pid, network, ipc, uts, cgroup and mount differ from the host's" {
    set_args "$TESTHELPER" ns
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ]
    for ns in pid net ipc uts cgroup mnt; do
        inside=$(ns_of "$output" "$ns")
        [ -n "$inside" ]
        [ "$inside" != "$(host_ns "$ns")" ] || {
            echo "$ns namespace is the host's: $inside"
            return 1
        }
    done
    # Not asked for: shared with the host.
    [ "$(ns_of "$output" user)" = "$(host_ns user)" ]
    [ "$(ns_of "$output" time)" = "$(host_ns time)" ]

    # Without a network namespace in the config, the host's is used.
    update_config '.linux.namespaces |= map(select(.type != "network"))'
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ]
    [ "$(ns_of "$output" net)" = "$(host_ns net)" ]
}

@test "namespaces: a cgroup namespace shows the container's cgroup as its root" {
    set_args cat /proc/self/cgroup
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -ge 1 ]
    for line in "${lines[@]}"; do
        [ "${line##*:}" = / ] || {
            echo "not at its cgroup namespace's root: $line"
            return 1
        }
    done
}

@test "namespaces: a user namespace with several uid and gid ranges" {
    allow_traversal "$BERTH_BUNDLE"
    update_config '.linux.namespaces += [{type: "user"}] |
        .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 1000},
                              {containerID: 1000, hostID: 201000, size: 10},
                              {containerID: 65534, hostID: 365534, size: 1}] |
        .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 1000},
                              {containerID: 2000, hostID: 302000, size: 5}]'
    set_args sh -c 'cat /proc/self/uid_map; echo ---; cat /proc/self/gid_map; echo ---; id -u; id -g; exec sleep 1000'
    id=$(container_id)
    out=$BATS_TEST_TMPDIR/out
    berth run -d "$id" >"$out" 2>&1
    wait_for_file "$out" '^---$' 10
    retry 100 0.1 test "$(grep -c . "$out")" -ge 9
    pid=$(state_field "$id" .pid)
    # The kernel pads the columns; compare the numbers.
    maps=$(awk 'NF == 3 { print $1, $2, $3 } NF != 3 { print }' "$out")
    [ "$maps" = "$(printf '%s\n' '0 100000 1000' '1000 201000 10' '65534 365534 1' --- \
        '0 100000 1000' '2000 302000 5' --- 0 0)" ]
    # Seen from the host, the container's root is uid/gid 100000.
    [ "$(awk '$1 == "Uid:" { print $2 }' "/proc/$pid/status")" = 100000 ]
    [ "$(awk '$1 == "Gid:" { print $2 }' "/proc/$pid/status")" = 100000 ]
    [ "$(readlink "/proc/$pid/ns/user")" != "$(host_ns user)" ]
    berth delete --force "$id"
}

@test "namespaces: a user namespace maps process.user through the ranges" {
    allow_traversal "$BERTH_BUNDLE"
    update_config '.linux.namespaces += [{type: "user"}] |
        .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 2000}] |
        .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 3000}] |
        .process.user = {uid: 1000, gid: 1000, additionalGids: [2000]}'
    set_args sh -c "$TESTHELPER ids; exec sleep 1000"
    id=$(container_id)
    out=$BATS_TEST_TMPDIR/out
    berth run -d "$id" >"$out" 2>&1
    wait_for_file "$out" '^groups:'
    grep -qx 'uid: 1000' "$out"
    grep -qx 'gid: 1000' "$out"
    grep -qx 'groups: 2000' "$out"
    pid=$(state_field "$id" .pid)
    [ "$(awk '$1 == "Uid:" { print $2 }' "/proc/$pid/status")" = 101000 ]
    [ "$(awk '$1 == "Groups:" { print $2 }' "/proc/$pid/status")" = 102000 ]
    berth delete --force "$id"
}

@test "namespaces: a time namespace shifts CLOCK_MONOTONIC and CLOCK_BOOTTIME" {
    [ -e /proc/self/ns/time ] || skip "this kernel has no time namespaces"
    update_config '.linux.namespaces += [{type: "time"}] |
        .linux.timeOffsets = {monotonic: {secs: 864000, nanosecs: 0},
                              boottime: {secs: 1728000, nanosecs: 5}}'
    set_args "$TESTHELPER" timens
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ]
    inside=$output
    host=$("$BERTH_TESTHELPER" timens)
    mono_in=$(awk '$1 == "monotonic:" { print $2 }' <<<"$inside")
    boot_in=$(awk '$1 == "boottime:" { print $2 }' <<<"$inside")
    mono_host=$(awk '$1 == "monotonic:" { print $2 }' <<<"$host")
    boot_host=$(awk '$1 == "boottime:" { print $2 }' <<<"$host")
    d=$((mono_in - mono_host - 864000))
    [ "${d#-}" -le 2 ]
    d=$((boot_in - boot_host - 1728000))
    [ "${d#-}" -le 2 ]
    grep -qx 'offset: monotonic 864000 0' <<<"$inside"
    grep -qx 'offset: boottime 1728000 5' <<<"$inside"

    # A time namespace without offsets is a fresh one with zero offsets.
    update_config 'del(.linux.timeOffsets)'
    set_args "$TESTHELPER" ns
    run --separate-stderr berth run "$(container_id)"
    [ "$(ns_of "$output" time)" != "$(host_ns time)" ]
}

@test "namespaces: a second container joins the first one's network and ipc namespaces" {
    set_args sleep 1000
    a=$(container_id a)
    berth run -d "$a"
    apid=$(state_field "$a" .pid)

    make_bundle2 "$TESTHELPER" ns
    update_config2 '.linux.namespaces |= map(
        if .type == "network" then .path = "/proc/\($pid)/ns/net"
        elif .type == "ipc" then .path = "/proc/\($pid)/ns/ipc" else . end)' --arg pid "$apid"
    run --separate-stderr berth run --bundle "$BUNDLE2" "$(container_id b)"
    [ "$status" -eq 0 ]
    [ "$(ns_of "$output" net)" = "$(readlink "/proc/$apid/ns/net")" ]
    [ "$(ns_of "$output" ipc)" = "$(readlink "/proc/$apid/ns/ipc")" ]
    [ "$(ns_of "$output" net)" != "$(host_ns net)" ]
    # The rest is B's own.
    [ "$(ns_of "$output" uts)" != "$(readlink "/proc/$apid/ns/uts")" ]
    [ "$(ns_of "$output" pid)" != "$(readlink "/proc/$apid/ns/pid")" ]

    # What one makes in the shared ipc namespace, the other sees: a POSIX message queue
    # (each container mounts the mqueue of its ipc namespace at /dev/mqueue).
    BERTH_BUNDLE=$BUNDLE2 set_args touch /dev/mqueue/berth-test-queue
    run --separate-stderr berth run --bundle "$BUNDLE2" "$(container_id c)"
    [ "$status" -eq 0 ]
    [ "$(nsenter --target "$apid" --mount ls /dev/mqueue)" = berth-test-queue ]
    [ ! -e /dev/mqueue/berth-test-queue ]
    berth delete --force "$a"
}

@test "namespaces: a second container joins the first one's pid namespace" {
    set_args sleep 1000
    a=$(container_id a)
    berth run -d "$a"
    apid=$(state_field "$a" .pid)

    make_bundle2 sh -c 'echo "self $$"; cat /proc/1/cmdline | tr "\0" " "; echo'
    update_config2 '.linux.namespaces |= map(
        if .type == "pid" then .path = "/proc/\($pid)/ns/pid" else . end)' --arg pid "$apid"
    run --separate-stderr berth run --bundle "$BUNDLE2" "$(container_id b)"
    [ "$status" -eq 0 ] || {
        echo "$stderr"
        return 1
    }
    # B is not pid 1: A's sleep is.
    [[ ${lines[0]} =~ ^self\ ([0-9]+)$ ]]
    [ "${BASH_REMATCH[1]}" -gt 1 ]
    [ "${lines[1]}" = "sleep 1000 " ]

    # B can also be created (and its pid recorded) and started there.
    b=$(container_id d)
    BERTH_BUNDLE=$BUNDLE2 set_args sleep 1000
    berth create --bundle "$BUNDLE2" "$b"
    bpid=$(state_field "$b" .pid)
    [ "$(readlink "/proc/$bpid/ns/pid")" = "$(readlink "/proc/$apid/ns/pid")" ]
    berth start "$b"
    [ "$(state_field "$b" .status)" = running ]
    berth delete --force "$b"
    berth delete --force "$a"
}

@test "namespaces: a new user namespace together with a joined network namespace" {
    set_args sleep 1000
    a=$(container_id a)
    berth run -d "$a"
    apid=$(state_field "$a" .pid)

    make_bundle2 sh -c "$TESTHELPER ns; id -u; cat /proc/self/uid_map"
    with_userns "$BUNDLE2"
    update_config2 '.linux.namespaces |= map(
            if .type == "network" then .path = "/proc/\($pid)/ns/net" else . end)' --arg pid "$apid"
    run --separate-stderr berth run --bundle "$BUNDLE2" "$(container_id b)"
    [ "$status" -eq 0 ] || {
        echo "$stderr"
        return 1
    }
    [ "$(ns_of "$output" net)" = "$(readlink "/proc/$apid/ns/net")" ]
    [ "$(ns_of "$output" user)" != "$(host_ns user)" ]
    [ "$(ns_of "$output" pid)" != "$(readlink "/proc/$apid/ns/pid")" ]
    grep -qx 0 <<<"$output"
    grep -qE '^ *0 +100000 +65536$' <<<"$output"
    berth delete --force "$a"
}

@test "namespaces: a second container joins the first one's user namespace" {
    with_userns
    set_args sleep 1000
    a=$(container_id a)
    berth run -d "$a"
    apid=$(state_field "$a" .pid)

    make_bundle2 sh -c "$TESTHELPER ns; id -u; cat /proc/self/uid_map"
    allow_traversal "$BUNDLE2"
    update_config2 '.linux.namespaces += [{type: "user", path: "/proc/\($pid)/ns/user"}]' \
        --arg pid "$apid"
    run --separate-stderr berth run --bundle "$BUNDLE2" "$(container_id b)"
    [ "$status" -eq 0 ] || {
        echo "$stderr"
        return 1
    }
    [ "$(ns_of "$output" user)" = "$(readlink "/proc/$apid/ns/user")" ]
    grep -qx 0 <<<"$output"
    grep -qE '^ *0 +100000 +65536$' <<<"$output"
    berth delete --force "$a"
}

@test "namespaces: joining a namespace path of the wrong type or a missing one is refused" {
    update_config '.linux.namespaces |= map(if .type == "uts" then .path = "/proc/self/ns/ipc" else . end)'
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 1 ]
    [[ $stderr == *"uts namespace: /proc/self/ns/ipc is not a uts namespace"* ]]
    assert_nothing_left
}
