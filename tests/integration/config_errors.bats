#!/usr/bin/env bats
# Bad input: broken configs and bad command lines are refused with a message that names the
# problem (for configs: the JSON path), before or while creating, and leave nothing behind.

# jq filters and container-side shell code are single-quoted on purpose:
# shellcheck disable=SC2016

load helpers
bats_require_minimum_version 1.5.0

setup() {
    berth_setup true
    cd "$BERTH_BUNDLE" || return 1
    cp config.json "$BATS_TEST_TMPDIR/config.orig"
}

teardown() {
    berth_teardown
}

# One broken config per line: a jq filter applied to the default config, a tab, and the
# message berth must print (a substring of its stderr).
broken_configs() {
    cat <<'TABLE'
.ociVersion = "2.0.0"	config.json: .ociVersion: unsupported version "2.0.0"
.ociVersion = "0.9.0"	config.json: .ociVersion: unsupported version "0.9.0"
.ociVersion = "one"	config.json: .ociVersion: invalid version "one"
del(.ociVersion)	config.json: .ociVersion: missing required field
.ociVersion = 1	config.json: .ociVersion: expected string
del(.root)	config.json: .root: missing required field
.root = "rootfs"	config.json: .root: expected object
.root.path = ""	config.json: .root.path: must not be empty
.root.readonly = "yes"	config.json: .root.readonly: expected boolean
del(.process)	config.json: .process: missing required field
.process = []	config.json: .process: expected object
.process.args = []	config.json: .process.args: must contain at least one entry
.process.args = "sh"	config.json: .process.args: expected array
.process.args = ["sh", 1]	config.json: .process.args[1]: expected string
del(.process.args)	config.json: .process.args: missing required field
del(.process.cwd)	config.json: .process.cwd: missing required field
.process.cwd = "relative"	config.json: .process.cwd: must be an absolute path
del(.process.user)	config.json: .process.user: missing required field
.process.user.uid = -1	config.json: .process.user.uid: expected unsigned integer
.process.user.uid = 4294967296	config.json: .process.user.uid: value 4294967296 out of range (0 to 4294967295)
.process.user.gid = "0"	config.json: .process.user.gid: expected unsigned integer
.process.user.uid = 1.5	config.json: .process.user.uid: expected unsigned integer
.process.user.additionalGids = [1, "x"]	config.json: .process.user.additionalGids[1]: expected unsigned integer
.process.user.umask = -1	config.json: .process.user.umask: expected unsigned integer
.process.env = ["NOEQUALS"]	config.json: .process.env[0]: expected NAME=VALUE
.process.env = ["=x"]	config.json: .process.env[0]: expected NAME=VALUE
.process.env = "PATH=/bin"	config.json: .process.env: expected array
.process.terminal = 1	config.json: .process.terminal: expected boolean
.process.consoleSize = {height: 10}	config.json: .process.consoleSize.width: missing required field
.process.rlimits += [{type: "RLIMIT_NOFILE", soft: 1, hard: 1}]	config.json: .process.rlimits[1].type: duplicate rlimit "RLIMIT_NOFILE"
.process.rlimits[0].type = "RLIMIT_BOGUS"	config.json: .process.rlimits[0].type: unknown rlimit "RLIMIT_BOGUS"
.process.rlimits += [{type: "RLIMIT_CORE", soft: 1, hard: "x"}]	config.json: .process.rlimits[1].hard: expected unsigned integer
.process.rlimits[0].soft = 2048	config.json: .process.rlimits[0]: soft limit 2048 is above hard limit 1024
.process.rlimits[0] |= del(.soft)	config.json: .process.rlimits[0].soft: missing required field
.process.capabilities.bounding += ["CAP_BOGUS"]	config.json: .process.capabilities.bounding[3]: unknown capability "CAP_BOGUS"
.process.capabilities.effective = "CAP_KILL"	config.json: .process.capabilities.effective: expected array
.process.oomScoreAdj = 1001	config.json: .process.oomScoreAdj: value 1001 out of range (-1000 to 1000)
.process.noNewPrivileges = "true"	config.json: .process.noNewPrivileges: expected boolean
.process.scheduler = {policy: "SCHED_FIFO", priority: 0}	config.json: .process.scheduler.priority: SCHED_FIFO needs a priority from 1 to 99, got 0
.process.ioPriority = {class: "IOPRIO_CLASS_BE", priority: 8}	config.json: .process.ioPriority.priority: value 8 out of range (0 to 7)
.hostname = ("x" * 65)	config.json: .hostname: longer than 64 bytes
.hostname = 7	config.json: .hostname: expected string
.mounts += [{destination: ""}]	config.json: .mounts[7].destination: must not be empty
.mounts[0] |= del(.destination)	config.json: .mounts[0].destination: missing required field
.mounts[0].options = "ro"	config.json: .mounts[0].options: expected array
.mounts = {}	config.json: .mounts: expected array
.hooks = {prestart: [{path: "relative/hook"}]}	config.json: .hooks.prestart[0].path: must be an absolute path, got "relative/hook"
.hooks = {poststart: [{path: "/bin/true", timeout: 0}]}	config.json: .hooks.poststart[0].timeout: must be greater than zero
.hooks = {createRuntime: [{args: ["x"]}]}	config.json: .hooks.createRuntime[0].path: missing required field
.hooks = {poststop: [{path: "/bin/true", env: ["X"]}]}	config.json: .hooks.poststop[0].env[0]: expected NAME=VALUE
.annotations = {"a": 1}	config.json: .annotations.a: expected string
.annotations = {"": "x"}	config.json: .annotations: keys must not be empty
.linux = []	config.json: .linux: expected object
.linux.namespaces += [{type: "bogus"}]	config.json: .linux.namespaces[6].type: unknown namespace type "bogus"
.linux.namespaces += [{type: "pid"}]	config.json: .linux.namespaces[6].type: duplicate namespace type "pid"
.linux.namespaces[0].path = "relative/ns"	config.json: .linux.namespaces[0].path: must be an absolute path
.linux.namespaces |= map(select(.type != "mount"))	config.json: .linux.namespaces: a mount namespace is required
.linux.namespaces |= map(select(.type != "uts"))	config.json: .hostname: setting a hostname needs a uts namespace
.linux.uidMappings = [{containerID: 0, hostID: 1000, size: 1}]	config.json: .linux.uidMappings: mappings need a user namespace
.linux.namespaces += [{type: "user"}]	config.json: .linux.uidMappings: a new user namespace (.linux.namespaces[6]) needs at least one mapping
.linux.namespaces += [{type: "user"}] | .linux.uidMappings = [{containerID: 0, hostID: 0, size: 0}] | .linux.gidMappings = .linux.uidMappings	config.json: .linux.uidMappings[0].size: must be greater than zero
.linux.timeOffsets = {monotonic: {secs: 1}}	config.json: .linux.timeOffsets: needs a new time namespace
.linux.namespaces += [{type: "time"}] | .linux.timeOffsets = {realtime: {secs: 1}}	config.json: .linux.timeOffsets.realtime: unknown clock "realtime"
.linux.seccomp = {defaultAction: "SCMP_ACT_BOGUS"}	config.json: .linux.seccomp.defaultAction: unknown seccomp action "SCMP_ACT_BOGUS"
.linux.seccomp = {syscalls: []}	config.json: .linux.seccomp.defaultAction: missing required field
.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_BOGUS"]}	config.json: .linux.seccomp.architectures[0]: unknown seccomp architecture "SCMP_ARCH_BOGUS"
.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", syscalls: [{names: ["mkdir"], action: "SCMP_ACT_ERRNO", args: [{index: 6, value: 0, op: "SCMP_CMP_EQ"}]}]}	config.json: .linux.seccomp.syscalls[0].args[0].index: value 6 out of range (0 to 5)
.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", syscalls: [{names: [], action: "SCMP_ACT_ERRNO"}]}	config.json: .linux.seccomp.syscalls[0].names: must name at least one system call
.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", syscalls: [{names: ["mkdir"], action: "SCMP_ACT_KILL", errnoRet: 1}]}	config.json: .linux.seccomp.syscalls[0].errnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE
.linux.devices = [{path: "/dev/x", type: "z", major: 1, minor: 1}]	config.json: .linux.devices[0].type: unknown device type "z"
.linux.devices = [{path: "dev/x", type: "c", major: 1, minor: 1}]	config.json: .linux.devices[0].path: must be an absolute path
.linux.devices = [{path: "/dev/x", type: "c", major: 1}]	config.json: .linux.devices[0].minor: missing required field
.linux.rootfsPropagation = "sideways"	config.json: .linux.rootfsPropagation: unknown propagation "sideways"
.linux.personality = {domain: "LINUX64"}	config.json: .linux.personality.domain: unknown personality domain "LINUX64"
.linux.maskedPaths += ["relative"]	config.json: .linux.maskedPaths[11]: must be an absolute path
.linux.readonlyPaths = "/proc"	config.json: .linux.readonlyPaths: expected array
.linux.sysctl = {"": "1"}	config.json: .linux.sysctl: keys must not be empty
.linux.sysctl = {"net.ipv4.ip_forward": 1}	config.json: .linux.sysctl["net.ipv4.ip_forward"]: expected string
.linux.resources.memory = {limit: "1g"}	config.json: .linux.resources.memory.limit: expected integer
.linux.resources.pids = {limit: "x"}	config.json: .linux.resources.pids.limit: expected integer
.linux.memoryPolicy = {mode: "MPOL_BIND"}	config.json: .linux.memoryPolicy.nodes: MPOL_BIND needs at least one node
TABLE
}

# check_refused WHAT CMD...: CMD must exit 1 with $want in stderr and leave nothing behind.
# Failures are collected in $failures rather than stopping at the first one. Output goes to
# files, not pipes: a container created by mistake must not keep the test waiting for EOF.
check_refused() {
    local what=$1 out=$BATS_TEST_TMPDIR/refused.out err=$BATS_TEST_TMPDIR/refused.err
    shift
    status=0
    "$@" >"$out" 2>"$err" </dev/null || status=$?
    stderr=$(cat "$err")
    if [ "$status" -ne 1 ] || [[ $stderr != *"$want"* ]]; then
        failures+=("$what: exit $status, stderr: ${stderr:-<empty>} (expected: $want)")
    elif ! assert_root_empty 2>/dev/null; then
        failures+=("$what: left $(ls -A "$BERTH_ROOT") in the root")
    fi
    # Whatever happened, the next case starts from an empty root.
    [ -z "$(ls -A "$BERTH_ROOT")" ] || berth_clean_root
}

# load_table [JQ_OPTIONS...] <TABLE: FILTERS, WANTS and CONFIGS (the default config with each
# filter applied, one compact document each) from a table of "FILTER<tab>MESSAGE" lines.
# One jq run for the whole table: jq takes ~50 ms to start.
load_table() {
    local filter want program=""
    FILTERS=()
    WANTS=()
    while IFS=$'\t' read -r filter want; do
        [ -n "$filter" ] || continue
        FILTERS+=("$filter")
        WANTS+=("$want")
        program+="${program:+,
}($filter)"
    done
    mapfile -t CONFIGS < <(jq -c "$@" "$program" "$BATS_TEST_TMPDIR/config.orig")
    [ "${#CONFIGS[@]}" -eq "${#FILTERS[@]}" ] || {
        echo "jq made ${#CONFIGS[@]} configs from ${#FILTERS[@]} filters"
        return 1
    }
}

berth_clean_root() {
    local id
    for id in $(berth_known_ids); do
        "$BERTH" --root "$BERTH_ROOT" delete --force "$id" >/dev/null 2>&1 || true
    done
    rm -rf "${BERTH_ROOT:?}"/*
}

report_failures() {
    local f
    [ "${#failures[@]}" -eq 0 ] && return 0
    for f in "${failures[@]}"; do
        echo "$f"
    done
    echo "${#failures[@]} case(s) failed"
    return 1
}

@test "config errors: at least 40 broken configs are refused with the JSON path, nothing left" {
    local i failures=() want
    load_table < <(broken_configs)
    for i in "${!CONFIGS[@]}"; do
        printf '%s\n' "${CONFIGS[i]}" >config.json
        want=${WANTS[i]}
        check_refused "create with ${FILTERS[i]}" berth create "$(container_id)"
        check_refused "run with ${FILTERS[i]}" berth run "$(container_id)"
    done
    echo "${#CONFIGS[@]} broken configs"
    [ "${#CONFIGS[@]}" -ge 40 ]
    report_failures
    assert_nothing_left
}

@test "config errors: malformed JSON is refused with its position" {
    local failures=() want
    printf '' >config.json
    want="config.json: invalid JSON at line 1, column 1"
    check_refused "empty config.json" berth create "$(container_id)"

    printf '{"ociVersion": "1.0.2",}' >config.json
    want="config.json: invalid JSON at line 1, column 25"
    check_refused "a trailing comma" berth create "$(container_id)"

    printf '{"a": 1} {"b": 2}' >config.json
    want="trailing garbage"
    check_refused "two documents" berth create "$(container_id)"

    printf '[]' >config.json
    want="config.json: .: expected object"
    check_refused "an array" berth create "$(container_id)"

    printf '%*s' 100000 '' | tr ' ' '[' >config.json
    want="nested deeper than"
    check_refused "deep nesting" timeout 10 "$BERTH" --root "$BERTH_ROOT" create "$(container_id)"

    printf '{\n  "ociVersion": "1.0.2",\n  "x": [1,,2]\n}\n' >config.json
    want="config.json: invalid JSON at line 3, column"
    check_refused "a bad token on line 3" berth create "$(container_id)"

    rm config.json
    want="config.json: No such file or directory"
    check_refused "no config.json" berth create "$(container_id)"
    report_failures
}

@test "config errors: a truncated config.json names the line where it ends" {
    local failures=() want
    head -c 100 "$BATS_TEST_TMPDIR/config.orig" >config.json
    last_line=$(($(wc -l <config.json) + 1))
    want="config.json: invalid JSON at line $last_line,"
    check_refused "truncated after 100 bytes" berth create "$(container_id)"
    report_failures
}

@test "config errors: a FIFO as config.json is refused, not waited on" {
    local failures=() want
    rm config.json
    mkfifo config.json
    want="config.json"
    check_refused "config.json is a FIFO" timeout 5 "$BERTH" --root "$BERTH_ROOT" create "$(container_id)"
    report_failures
}

@test "config errors: every 1.x ociVersion is accepted" {
    for v in 1.0.0 1.0.1 1.0.2 1.1.0 1.2.0 1.2.1 1.3.0 1.0 1.1.0-rc.1 1.9.0; do
        update_config '.ociVersion = $v' --arg v "$v"
        run --separate-stderr berth run "$(container_id)"
        [ "$status" -eq 0 ] || {
            echo "ociVersion $v: exit $status: $stderr"
            return 1
        }
    done
    assert_nothing_left
}

@test "config errors: unknown fields are ignored" {
    update_config '.futureField = {"x": [1, 2]} | .process.futureFlag = true |
        .linux.futureThing = "y" | .mounts[0].futureOption = 1 | .root.future = null'
    run berth run "$(container_id)"
    [ "$status" -eq 0 ]
}

# A create that fails at a step after the container process exists must undo everything.
@test "config errors: a create that fails at any step reports it and leaves nothing" {
    local failures=() want i
    [ "$(ulimit -Hn)" != unlimited ] || skip "the hard RLIMIT_NOFILE is unlimited here"
    load_table --arg nofile "$(($(ulimit -Hn) + 1))" <<'TABLE'
.process.args = ["/nonexistent"]	exec: "/nonexistent": No such file or directory
.process.args = ["nosuchprog"]	exec: "nosuchprog": executable file not found in $PATH
.process.args = ["/etc/passwd"]	exec: "/etc/passwd": Permission denied
.process.args = ["/proc"]	exec: "/proc"
.process.cwd = "/nonexistent"	process.cwd: chdir to /nonexistent inside the container: No such file or directory
.process.cwd = "/etc/passwd"	process.cwd: chdir to /etc/passwd inside the container: Not a directory
.process.user.uid = 1000 | .process.cwd = "/root"	process.cwd: chdir to /root inside the container: Permission denied
.mounts += [{destination: "/mnt", type: "bind", source: "/nonexistent", options: ["rbind"]}]	mount /mnt: bind source /nonexistent: No such file or directory
.mounts += [{destination: "/mnt", type: "tmpfs", source: "tmpfs", options: ["size=notanumber"]}]	mount /mnt (type tmpfs, options "size=notanumber"): Invalid argument
.mounts += [{destination: "/mnt", type: "nosuchfs", source: "x"}]	mount /mnt (type nosuchfs
.hooks = {createRuntime: [{path: "/bin/false"}]}	createRuntime hook #0 (/bin/false): exit status 1
.hooks = {prestart: [{path: "/bin/sh", args: ["sh", "-c", "echo oops; exit 3"]}]}	prestart hook #0 (/bin/sh): exit status 3, output: oops
.hooks = {createContainer: [{path: "/bin/false"}]}	createContainer hook #0 (/bin/false): exit status 1
.hooks = {createRuntime: [{path: "/nonexistent-hook"}]}	createRuntime hook #0 (/nonexistent-hook)
.root.path = "nope"	config.json: .root.path: rootfs
.root.path = "config.json"	config.json: .root.path: rootfs
.process.capabilities.permitted += ["CAP_SYS_RESOURCE"] | .process.capabilities.effective += ["CAP_SYS_RESOURCE"] | .process.capabilities.bounding += ["CAP_SYS_RESOURCE"]	capabilities: CAP_SYS_RESOURCE not available to berth on this host
.process.rlimits[0].hard = ($nofile | tonumber)	process.rlimits: RLIMIT_NOFILE: raising the hard limit to
.linux.sysctl = {"vm.swappiness": "10"}	linux.sysctl: vm.swappiness is not in a namespace of this container
.linux.sysctl = {"net.ipv4.no_such_knob": "1"}	linux.sysctl: set net.ipv4.no_such_knob to "1"
.linux.namespaces |= map(if .type == "pid" then .path = "/proc/self/ns/net" else . end)	pid namespace: /proc/self/ns/net is not a pid namespace
.linux.namespaces |= map(if .type == "network" then .path = "/nonexistent/ns" else . end)	network namespace: open /nonexistent/ns: No such file or directory
.linux.devices = [{path: "/dev/null", type: "c", major: 1, minor: 5}]	device /dev/null: a different file already exists at that path
.linux.namespaces += [{type: "user"}] | .linux.uidMappings = [{containerID: 0, hostID: 4294967290, size: 100}] | .linux.gidMappings = .linux.uidMappings	user namespace: write uid_map
TABLE
    for i in "${!CONFIGS[@]}"; do
        printf '%s\n' "${CONFIGS[i]}" >config.json
        want=${WANTS[i]}
        check_refused "create with ${FILTERS[i]}" berth create "$(container_id)"
        check_refused "run with ${FILTERS[i]}" berth run "$(container_id)"
        check_refused "run -d with ${FILTERS[i]}" berth run -d "$(container_id)"
    done
    [ "${#CONFIGS[@]}" -ge 20 ]
    report_failures
    assert_nothing_left
}

@test "config errors: a capability outside the host's bounding set is reported clearly" {
    capbnd=$(awk '$1 == "CapBnd:" { print $2 }' /proc/self/status)
    if (((16#$capbnd >> 24) & 1)); then
        skip "CAP_SYS_RESOURCE is in this host's bounding set"
    fi
    # Asked for in every set, as a privileged container would: refused, naming it.
    for set in "bounding,effective,permitted" "permitted" "inheritable" "ambient"; do
        update_config '.process.capabilities[($sets | split(","))[]] += ["CAP_SYS_RESOURCE"]' \
            --arg sets "$set"
        run --separate-stderr berth run "$(container_id)"
        [ "$status" -eq 1 ] || {
            echo "CAP_SYS_RESOURCE in $set: exit $status"
            return 1
        }
        [[ $stderr == *"CAP_SYS_RESOURCE"* ]]
        assert_nothing_left
        cp "$BATS_TEST_TMPDIR/config.orig" config.json
    done
    # Only in the bounding set: the container cannot have it, and berth must not pretend it
    # does without a word: refused, or run with a warning that names it.
    update_config '.process.capabilities.bounding += ["CAP_SYS_RESOURCE"]'
    set_args "$TESTHELPER" caps
    run --separate-stderr berth run "$(container_id)"
    [[ $stderr == *"CAP_SYS_RESOURCE"* ]] || {
        echo "bounding set with CAP_SYS_RESOURCE: exit $status, stderr: ${stderr:-<empty>}"
        echo "container's caps: $output"
        return 1
    }
}

@test "config errors: bad command-line uses are refused and create nothing" {
    local failures=() want
    id=$(container_id)
    want="requires exactly 1 argument (the container id), got 0"
    check_refused "create without an id" berth create
    want="requires exactly 1 argument (the container id), got 2"
    check_refused "create with two ids" berth create "$id" extra
    want="bundle /nonexistent: No such file or directory"
    check_refused "a missing bundle" berth create --bundle /nonexistent "$id"
    want="bundle $BERTH_BUNDLE/config.json: Not a directory"
    check_refused "a file as bundle" berth create -b "$BERTH_BUNDLE/config.json" "$id"
    want='--preserve-fds: "abc" is not a number of fds'
    check_refused "--preserve-fds abc" berth create --preserve-fds abc "$id"
    want='--preserve-fds: "-1" is not a number of fds'
    check_refused "--preserve-fds -1" berth run --preserve-fds -1 "$id"
    want="--console-socket was given but process.terminal is false"
    check_refused "--console-socket without a terminal" berth create --console-socket "$BATS_TEST_TMPDIR/s" "$id"
    want="--pidfd-socket is not supported by berth"
    check_refused "--pidfd-socket" berth create --pidfd-socket "$BATS_TEST_TMPDIR/s" "$id"
    want="--pid-file /nonexistent/dir/pid: open directory: No such file or directory"
    check_refused "--pid-file in a missing directory" berth create --pid-file /nonexistent/dir/pid "$id"
    check_refused "run --pid-file in a missing directory" berth run --pid-file /nonexistent/dir/pid "$id"
    want="open state root /dev/null: Not a directory"
    check_refused "--root a device" "$BERTH" --root /dev/null create "$id"
    want="unknown option --detach"
    check_refused "create --detach" berth create --detach "$id"
    want="unknown option --keep"
    check_refused "create --keep" berth create --keep "$id"
    want="option --pid-file needs a value"
    check_refused "--pid-file without a value" berth run --pid-file
    want="requires at least one container id"
    check_refused "delete without an id" berth delete
    want="requires the container id and optionally a signal, got 3 arguments"
    check_refused "kill with three arguments" berth kill "$id" KILL extra
    want="container $id does not exist"
    for cmd in start state kill delete; do
        check_refused "$cmd of a missing container" berth "$cmd" "$id"
    done
    want="unknown option --all"
    check_refused "delete --all" berth delete --all "$id"
    report_failures
    [ ! -e /nonexistent ]
    assert_nothing_left
}

@test "config errors: a terminal without --console-socket is refused by create" {
    update_config '.process.terminal = true'
    run_files berth create "$(container_id)"
    [ "$status" -eq 1 ]
    [[ $stderr == *"process.terminal is true: pass --console-socket"* ]]
    assert_nothing_left
}

@test "config errors: features berth says it lacks are refused, not silently ignored" {
    local failures=() want
    mkdir "$BATS_TEST_TMPDIR/src"
    # An idmapped mount (features: mountExtensions.idmap.enabled false).
    update_config '.mounts += [{destination: "/mnt", type: "bind", source: $src,
        options: ["rbind", "idmap"], uidMappings: [{containerID: 0, hostID: 100000, size: 65536}],
        gidMappings: [{containerID: 0, hostID: 100000, size: 65536}]}]' \
        --arg src "$BATS_TEST_TMPDIR/src"
    want="idmap"
    check_refused "an idmapped mount" berth run "$(container_id)"
    # Moving a network interface in (features: netDevices.enabled false).
    jq '.linux.netDevices = {"berthtest0": {"name": "eth0"}}' "$BATS_TEST_TMPDIR/config.orig" >config.json
    want="netDevices"
    check_refused "linux.netDevices" berth run "$(container_id)"
    report_failures
}
