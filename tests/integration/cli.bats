#!/usr/bin/env bats
# The command line itself: --version, --help, usage errors, spec, features, --log, --root.

# jq filters and container-side shell code are single-quoted on purpose:
# shellcheck disable=SC2016

load helpers
bats_require_minimum_version 1.5.0

setup() {
    berth_setup
    cd "$BERTH_BUNDLE" || return 1
}

@test "cli: --version prints exactly three lines: version, commit, spec" {
    run "$BERTH" --version
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 3 ]
    [[ ${lines[0]} =~ ^berth\ version\ [0-9]+\.[0-9]+\.[0-9]+([-+~][A-Za-z0-9.+~-]*)?$ ]]
    [[ ${lines[1]} =~ ^commit:\ [^[:space:]]+$ ]]
    [[ ${lines[2]} =~ ^spec:\ 1\.[0-9]+\.[0-9]+$ ]]
    # The spec version is the newest one berth accepts, as `features` says.
    [ "${lines[2]#spec: }" = "$("$BERTH" features | jq -r .ociVersionMax)" ]
    first=$output

    run "$BERTH" -v
    [ "$status" -eq 0 ]
    [ "$output" = "$first" ]
}

@test "cli: --help names every command and the global options" {
    run "$BERTH" --help
    [ "$status" -eq 0 ]
    for cmd in create start run state kill delete list spec features; do
        grep -qE "^ +$cmd +[a-z]" <<<"$output" || {
            echo "--help does not list $cmd"
            return 1
        }
    done
    for opt in --root --log --log-format --debug --help --version; do
        [[ $output == *"$opt"* ]] || {
            echo "--help does not mention $opt"
            return 1
        }
    done
    [[ $output == *'/run/berth'* ]]
    run "$BERTH" -h
    [ "$status" -eq 0 ]
    [[ $output == *"COMMANDS"* ]]
}

@test "cli: COMMAND --help for every command exits 0 and lists its options" {
    declare -A want=(
        [create]="--bundle --console-socket --pid-file --no-pivot --no-new-keyring --preserve-fds"
        [run]="--bundle --console-socket --pid-file --no-pivot --no-new-keyring --preserve-fds --detach --keep"
        [start]=""
        [state]=""
        [kill]="--all"
        [delete]="--force"
        [list]="--format --quiet"
        [spec]="--bundle --rootless"
        [features]=""
    )
    for cmd in "${!want[@]}"; do
        for flag in --help -h; do
            run "$BERTH" "$cmd" "$flag"
            [ "$status" -eq 0 ] || {
                echo "berth $cmd $flag: exit $status: $output"
                return 1
            }
            [[ ${lines[0]} == "Usage: berth $cmd"* ]] || {
                echo "berth $cmd $flag: no usage line: $output"
                return 1
            }
        done
        for opt in ${want[$cmd]}; do
            [[ $output == *"$opt"* ]] || {
                echo "berth $cmd --help does not mention $opt"
                return 1
            }
        done
    done
    # --help wins over everything else and creates nothing.
    run berth create --help "$(container_id)"
    [ "$status" -eq 0 ]
    assert_root_empty
}

@test "cli: an unknown command is an error with a message, and nothing on stdout" {
    run --separate-stderr "$BERTH" frobnicate
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    [[ $stderr == *'unknown command "frobnicate"'* ]]
}

@test "cli: unknown options, missing values and wrong argument counts are usage errors" {
    run --separate-stderr "$BERTH" --frobnicate list
    [ "$status" -eq 1 ]
    [[ $stderr == *"unknown global option --frobnicate"* ]]

    run --separate-stderr berth list --frobnicate
    [ "$status" -eq 1 ]
    [[ $stderr == *"list: unknown option --frobnicate"* ]]
    [[ $stderr == *"berth list --help"* ]]

    run --separate-stderr berth kill -z "$(container_id)"
    [ "$status" -eq 1 ]
    [[ $stderr == *"unknown option -z"* ]]

    run --separate-stderr berth create --bundle
    [ "$status" -eq 1 ]
    [[ $stderr == *"option --bundle needs a value"* ]]

    run --separate-stderr "$BERTH" --root
    [ "$status" -eq 1 ]
    [[ $stderr == *"option --root needs a value"* ]]

    run --separate-stderr berth start
    [ "$status" -eq 1 ]
    [[ $stderr == *"requires exactly 1 argument"* ]]

    run --separate-stderr berth state a b
    [ "$status" -eq 1 ]
    [[ $stderr == *"requires exactly 1 argument"*"got 2"* ]]

    run --separate-stderr berth list extra
    [ "$status" -eq 1 ]

    run --separate-stderr "$BERTH" --log-format xml list
    [ "$status" -eq 1 ]
    [[ $stderr == *'--log-format must be text or json, not "xml"'* ]]

    run --separate-stderr berth list --format yaml
    [ "$status" -eq 1 ]
    [[ $stderr == *'--format must be table or json, not "yaml"'* ]]
    assert_root_empty
}

@test "cli: spec writes a default config.json into the current directory" {
    dir=$BATS_TEST_TMPDIR/spec
    mkdir "$dir"
    cd "$dir"
    run "$BERTH" spec
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    jq -e . config.json >/dev/null
    [ "$(jq -r .ociVersion config.json)" = "$("$BERTH" features | jq -r .ociVersionMax)" ]
    [ "$(jq -r .root.path config.json)" = rootfs ]
    [ "$(jq -r .process.terminal config.json)" = true ]
    [ "$(jq -c .process.args config.json)" = '["sh"]' ]
    [ "$(jq -r '.linux.namespaces | map(.type) | sort | join(",")' config.json)" = \
        "cgroup,ipc,mount,network,pid,uts" ]
    [ "$(jq -r '.mounts | map(.destination) | join(",")' config.json)" = \
        "/proc,/dev,/dev/pts,/dev/shm,/dev/mqueue,/sys,/sys/fs/cgroup" ]
    [ "$(jq -r '.process.capabilities.bounding | sort | join(",")' config.json)" = \
        "CAP_AUDIT_WRITE,CAP_KILL,CAP_NET_BIND_SERVICE" ]
    [ "$(jq -r '.linux.maskedPaths | index("/proc/kcore") != null' config.json)" = true ]
    [ "$(jq -r '.linux.readonlyPaths | index("/proc/sys") != null' config.json)" = true ]

    # The written config runs (as a one-shot, without a terminal).
    cp -a "$ROOTFS" rootfs
    jq '.process.terminal = false | .process.args = ["true"]' config.json >c.json
    mv c.json config.json
    run berth run --bundle "$dir" "$(container_id)"
    [ "$status" -eq 0 ]
}

@test "cli: spec refuses to overwrite an existing config.json" {
    cd "$BERTH_BUNDLE"
    before=$(sha256sum config.json)
    run --separate-stderr "$BERTH" spec
    [ "$status" -eq 1 ]
    [[ $stderr == *"config.json exists"* ]]
    [ "$(sha256sum config.json)" = "$before" ]
}

@test "cli: spec --bundle and -b write into the given directory" {
    mkdir "$BATS_TEST_TMPDIR/cwd"
    cd "$BATS_TEST_TMPDIR/cwd"
    for flag in --bundle -b; do
        dir=$BATS_TEST_TMPDIR/b$flag
        mkdir "$dir"
        run "$BERTH" spec "$flag" "$dir"
        [ "$status" -eq 0 ]
        jq -e .ociVersion "$dir/config.json" >/dev/null
    done
    [ ! -e config.json ]

    run --separate-stderr "$BERTH" spec --bundle "$BATS_TEST_TMPDIR/missing"
    [ "$status" -eq 1 ]
    [[ $stderr == *"$BATS_TEST_TMPDIR/missing"* ]]
    [ ! -e "$BATS_TEST_TMPDIR/missing" ]
}

@test "cli: spec --rootless has a user namespace with mappings and no network namespace" {
    dir=$BATS_TEST_TMPDIR/rootless
    mkdir "$dir"
    run "$BERTH" spec --rootless --bundle "$dir"
    [ "$status" -eq 0 ]
    c=$dir/config.json
    ns=$(jq -r '.linux.namespaces | map(.type) | sort | join(",")' "$c")
    [[ ,$ns, == *,user,* ]]
    [[ ,$ns, == *,mount,* ]]
    [[ ,$ns, != *,network,* ]]
    [ "$(jq -r '.linux.uidMappings | length' "$c")" -ge 1 ]
    [ "$(jq -r '.linux.gidMappings | length' "$c")" -ge 1 ]
    [ "$(jq -r '.linux.uidMappings[0].containerID' "$c")" = 0 ]
    [ "$(jq -r '.linux.uidMappings[0].hostID' "$c")" = "$(id -u)" ]
    [ "$(jq -r '.linux.gidMappings[0].hostID' "$c")" = "$(id -g)" ]
    # No cgroup limits a rootless user could not set.
    [ "$(jq -r '.linux.resources.devices // [] | length' "$c")" = 0 ]
}

@test "cli: features is valid JSON and claims what berth does" {
    run --separate-stderr "$BERTH" features
    [ "$status" -eq 0 ]
    f=$BATS_TEST_TMPDIR/features.json
    printf '%s\n' "$output" >"$f"
    jq -e . "$f" >/dev/null
    [ "$(jq -r .ociVersionMin "$f")" = 1.0.0 ]
    [[ $(jq -r .ociVersionMax "$f") =~ ^1\.[0-9]+\.[0-9]+$ ]]
    [ "$(jq -r '.hooks | sort | join(",")' "$f")" = \
        "createContainer,createRuntime,poststart,poststop,prestart,startContainer" ]
    [ "$(jq -r '.linux.namespaces | sort | join(",")' "$f")" = \
        "cgroup,ipc,mount,network,pid,time,user,uts" ]
    [ "$(jq -r .linux.seccomp.enabled "$f")" = true ]
    for act in SCMP_ACT_ALLOW SCMP_ACT_ERRNO SCMP_ACT_KILL SCMP_ACT_KILL_PROCESS SCMP_ACT_TRAP \
        SCMP_ACT_LOG; do
        jq -e --arg a "$act" '.linux.seccomp.actions | index($a) != null' "$f" >/dev/null || {
            echo "seccomp action $act missing"
            return 1
        }
    done
    jq -e '.linux.seccomp.archs | index("SCMP_ARCH_X86_64") != null' "$f" >/dev/null
    jq -e '.linux.capabilities | index("CAP_SYS_ADMIN") != null' "$f" >/dev/null
    for opt in ro nosuid nodev noexec bind rbind rro rprivate rslave rshared strictatime relatime; do
        jq -e --arg o "$opt" '.mountOptions | index($o) != null' "$f" >/dev/null || {
            echo "mount option $opt missing"
            return 1
        }
    done
    # What berth does not implement is not claimed.
    [ "$(jq -r .linux.mountExtensions.idmap.enabled "$f")" = false ]
    jq -e '.mountOptions | index("idmap") == null and index("ridmap") == null' "$f" >/dev/null
    [ "$(jq -r .linux.apparmor.enabled "$f")" = false ]
    [ "$(jq -r .linux.selinux.enabled "$f")" = false ]
    [ "$(jq -r .linux.intelRdt.enabled "$f")" = false ]
    [ "$(jq -r .linux.netDevices.enabled "$f")" = false ]
    [ "$(jq -r '.linux.cgroup.systemd // false' "$f")" = false ]
    # Every seccomp flag the kernel is said to support is one berth knows.
    jq -e '(.linux.seccomp.supportedFlags - .linux.seccomp.knownFlags) == []' "$f" >/dev/null
}

@test "cli: every mount option features lists is accepted in a config" {
    opts=$("$BERTH" features | jq -r '.mountOptions[]')
    [ "$(wc -w <<<"$opts")" -gt 20 ]
    mkdir "$BATS_TEST_TMPDIR/src"
    set_args true
    # One bind mount per option ("remount" only makes sense on top of an existing mount).
    update_config '.mounts = [.mounts[0]] + [$opts | split(" ")[] | select(. != "remount") |
        {destination: ("/mnt/" + .), type: "bind", source: $src, options: ["rbind", .]}]' \
        --arg src "$BATS_TEST_TMPDIR/src" --arg opts "$(tr '\n' ' ' <<<"$opts")"
    run berth run "$(container_id)"
    [ "$status" -eq 0 ]
    assert_root_empty
}

@test "cli: --log FILE --log-format json records an error as a JSON line, stderr has it too" {
    log=$BATS_TEST_TMPDIR/berth.log
    run --separate-stderr "$BERTH" --root "$BERTH_ROOT" --log "$log" --log-format json \
        state no-such-container
    [ "$status" -eq 1 ]
    [[ $stderr == *"container no-such-container does not exist"* ]]
    [ "$(wc -l <"$log")" -eq 1 ]
    jq -e . "$log" >/dev/null
    [ "$(jq -r .level "$log")" = error ]
    [[ $(jq -r .msg "$log") == *"container no-such-container does not exist"* ]]
    [[ $(jq -r .time "$log") =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$ ]]
    [ "$(jq -r 'keys_unsorted | join(",")' "$log")" = "level,msg,time" ]

    # The file is appended to; the text format is logfmt-like.
    run "$BERTH" --root "$BERTH_ROOT" --log "$log" --log-format text kill nothing-here
    [ "$status" -eq 1 ]
    [ "$(wc -l <"$log")" -eq 2 ]
    tail -n1 "$log" | grep -qE '^time="[^"]+" level=error msg=".*container nothing-here does not exist.*"$'

    # --debug is accepted and changes nothing else.
    set_args true
    run --separate-stderr "$BERTH" --root "$BERTH_ROOT" --debug --log "$log.debug" \
        --log-format json run "$(container_id)"
    [ "$status" -eq 0 ]
    [ ! -s "$log.debug" ] || jq -e . "$log.debug" >/dev/null

    # An unwritable log path is itself an error.
    run --separate-stderr "$BERTH" --log /nonexistent/dir/log list
    [ "$status" -eq 1 ]
    [[ $stderr == *"/nonexistent/dir/log"* ]]
}

@test "cli: --root keeps containers apart and is created on first use" {
    root2=$BATS_TEST_TMPDIR/root2/nested
    set_args sleep 100
    berth create "$(container_id)"
    [ -f "$BERTH_ROOT/$(container_id)/state.json" ]
    run "$BERTH" --root "$root2" list -q
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    run "$BERTH" --root "$root2" state "$(container_id)"
    [ "$status" -eq 1 ]
    [[ $output == *"does not exist"* ]]

    "$BERTH" --root "$root2" create --bundle "$BERTH_BUNDLE" "$(container_id 2)"
    [ -d "$root2/$(container_id 2)" ]
    [ "$(stat -c %a "$root2")" = 711 ]
    [ "$(berth list -q)" = "$(container_id)" ]
    [ "$("$BERTH" --root "$root2" list -q)" = "$(container_id 2)" ]
    "$BERTH" --root "$root2" delete --force "$(container_id 2)"
    [ -z "$(ls -A "$root2")" ]
}
