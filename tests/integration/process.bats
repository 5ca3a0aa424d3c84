#!/usr/bin/env bats
# The container process: args, env, cwd, user, umask, capabilities, rlimits, no_new_privs,
# oomScoreAdj, personality, scheduler, I/O priority, seccomp.

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

# field OUTPUT KEY: the value after "KEY: " in the helper's output.
field() {
    awk -v k="$2:" '$1 == k { sub(/^[^:]*: ?/, ""); print; exit }' <<<"$1"
}

cap_bound() { # is capability bit N in this host's bounding set?
    local bnd
    bnd=$(awk '$1 == "CapBnd:" { print $2 }' /proc/self/status)
    (((16#$bnd >> $1) & 1))
}

@test "process: args reach the program verbatim" {
    set_args sh -c 'for a; do echo "[$a]"; done' sh "two words" "" '$HOME' '*' "-n" $'tab\there'
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 6 ]
    [ "${lines[0]}" = "[two words]" ]
    [ "${lines[1]}" = "[]" ]
    [ "${lines[2]}" = '[$HOME]' ]
    [ "${lines[3]}" = '[*]' ]
    [ "${lines[4]}" = "[-n]" ]
    [ "${lines[5]}" = $'[tab\there]' ]

    # A bare program name is looked up in the container's PATH.
    set_args berth-testhelper exit 5
    run berth run "$(container_id)"
    [ "$status" -eq 5 ]
    update_config '.process.env = ["PATH=/nowhere"]'
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 1 ]
    [[ $stderr == *'exec: "berth-testhelper": executable file not found in $PATH'* ]]
}

@test "process: env is exactly the config's, plus HOME from the container's /etc/passwd" {
    update_config '.process.env = ["PATH=/bin:/sbin", "FOO=bar baz", "EMPTY=", "MULTI=a=b=c"]'
    set_args "$TESTHELPER" env
    run --separate-stderr env BERTH_LEAK_CHECK=host "$BERTH" --root "$BERTH_ROOT" run "$(container_id)"
    [ "$status" -eq 0 ]
    [ "$(sort <<<"$output")" = "$(printf '%s\n' EMPTY= 'FOO=bar baz' HOME=/root MULTI=a=b=c PATH=/bin:/sbin)" ]

    # HOME follows process.user through the container's /etc/passwd (not the host's) ...
    update_config '.process.user = {uid: 1000, gid: 1000}'
    run --separate-stderr berth run "$(container_id)"
    grep -qx HOME=/home/user <<<"$output"
    sed -i 's|^user:.*|user:x:1000:1000:user:/elsewhere:/bin/sh|' "$ROOTFS/etc/passwd"
    run --separate-stderr berth run "$(container_id)"
    grep -qx HOME=/elsewhere <<<"$output"
    # ... is / for a uid it does not list ...
    update_config '.process.user = {uid: 4242, gid: 4242}'
    run --separate-stderr berth run "$(container_id)"
    grep -qx HOME=/ <<<"$output"
    # ... and a HOME in the config wins.
    update_config '.process.env += ["HOME=/custom"]'
    run --separate-stderr berth run "$(container_id)"
    [ "$(grep -c '^HOME=' <<<"$output")" -eq 1 ]
    grep -qx HOME=/custom <<<"$output"

    # No env at all: only HOME.
    update_config 'del(.process.env) | .process.user = {uid: 0, gid: 0}'
    set_args "$TESTHELPER" env
    run --separate-stderr berth run "$(container_id)"
    [ "$output" = HOME=/root ]
}

@test "process: cwd is where the process starts" {
    update_config '.process.cwd = "/home/user"'
    set_args "$TESTHELPER" cwd
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ]
    [ "$output" = /home/user ]
    # Through a symlink inside the rootfs.
    ln -s /home/user "$ROOTFS/link-to-home"
    update_config '.process.cwd = "/link-to-home"'
    run --separate-stderr berth run "$(container_id)"
    [ "$output" = /home/user ]
    update_config '.process.cwd = "/missing"'
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 1 ]
    [[ $stderr == *"process.cwd: chdir to /missing inside the container: No such file or directory"* ]]
    assert_nothing_left
}

@test "process: user uid, gid, additionalGids and umask" {
    update_config '.root.readonly = false |
        .process.user = {uid: 1000, gid: 1000, additionalGids: [2000, 3000, 1000], umask: 63}'
    set_args sh -c "$TESTHELPER ids; $TESTHELPER umask; touch /tmp/f; stat -c '%a %u %g' /tmp/f"
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ] || {
        echo "$stderr"
        return 1
    }
    for k in uid euid suid gid egid sgid; do
        [ "$(field "$output" "$k")" = 1000 ] || {
            echo "$k is $(field "$output" "$k")"
            return 1
        }
    done
    [ "$(field "$output" groups | tr ' ' '\n' | sort -n | tr '\n' ' ')" = "1000 2000 3000 " ]
    grep -qx 0077 <<<"$output"
    [ "${lines[-1]}" = "600 1000 1000" ]

    # Without additionalGids: no supplementary groups at all (none of berth's).
    update_config '.process.user = {uid: 1000, gid: 1000}'
    set_args "$TESTHELPER" ids
    run --separate-stderr berth run "$(container_id)"
    [ -z "$(field "$output" groups)" ]
    # An umask of 0 is an umask too.
    update_config '.process.user.umask = 0'
    set_args "$TESTHELPER" umask
    run --separate-stderr berth run "$(container_id)"
    [ "$output" = 0000 ]
}

@test "process: capabilities of the default config, all five sets" {
    set_args "$TESTHELPER" caps
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ]
    want=CAP_KILL,CAP_NET_BIND_SERVICE,CAP_AUDIT_WRITE
    [ "$(field "$output" bounding)" = "$want" ]
    [ "$(field "$output" effective)" = "$want" ]
    [ "$(field "$output" permitted)" = "$want" ]
    [ "$(field "$output" inheritable)" = none ]
    [ "$(field "$output" ambient)" = none ]
    [ "$(field "$output" CapBnd)" = 0000000020000420 ]
}

@test "process: capability sets as configured (root: bounding, inheritable, ambient exact)" {
    # For uid 0 the kernel makes permitted = effective = bounding | inheritable at exec; the
    # config gives them the same value, so every set is checked as given.
    update_config '.process.capabilities = {
        bounding: ["CAP_CHOWN", "CAP_KILL", "CAP_SETUID", "CAP_SETGID"],
        effective: ["CAP_CHOWN", "CAP_KILL", "CAP_SETUID", "CAP_SETGID"],
        permitted: ["CAP_CHOWN", "CAP_KILL", "CAP_SETUID", "CAP_SETGID"],
        inheritable: ["CAP_CHOWN", "CAP_KILL"],
        ambient: ["CAP_CHOWN"]}'
    set_args "$TESTHELPER" caps
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ] || {
        echo "$stderr"
        return 1
    }
    [ "$(field "$output" bounding)" = CAP_CHOWN,CAP_KILL,CAP_SETGID,CAP_SETUID ]
    [ "$(field "$output" effective)" = CAP_CHOWN,CAP_KILL,CAP_SETGID,CAP_SETUID ]
    [ "$(field "$output" permitted)" = CAP_CHOWN,CAP_KILL,CAP_SETGID,CAP_SETUID ]
    [ "$(field "$output" inheritable)" = CAP_CHOWN,CAP_KILL ]
    [ "$(field "$output" ambient)" = CAP_CHOWN ]

    # No capabilities object: nothing at all.
    update_config 'del(.process.capabilities)'
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ]
    for set in bounding effective permitted inheritable ambient; do
        [ "$(field "$output" "$set")" = none ] || {
            echo "$set: $(field "$output" "$set")"
            return 1
        }
    done
}

@test "process: a non-root user gets capabilities through the ambient set, and uses them" {
    update_config '.root.readonly = false | .process.user = {uid: 1000, gid: 1000} |
        .process.capabilities = {
            bounding: ["CAP_CHOWN", "CAP_KILL", "CAP_DAC_OVERRIDE"],
            effective: ["CAP_CHOWN", "CAP_DAC_OVERRIDE"],
            permitted: ["CAP_CHOWN", "CAP_DAC_OVERRIDE"],
            inheritable: ["CAP_CHOWN", "CAP_DAC_OVERRIDE"],
            ambient: ["CAP_CHOWN", "CAP_DAC_OVERRIDE"]}'
    touch "$ROOTFS/owned-by-root"
    chmod 600 "$ROOTFS/owned-by-root"
    set_args sh -c "$TESTHELPER caps; chown 1000:1000 /owned-by-root && echo chown-ok; cat /owned-by-root && echo read-ok"
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ] || {
        echo "$stderr"
        return 1
    }
    [ "$(field "$output" effective)" = CAP_CHOWN,CAP_DAC_OVERRIDE ]
    [ "$(field "$output" permitted)" = CAP_CHOWN,CAP_DAC_OVERRIDE ]
    [ "$(field "$output" ambient)" = CAP_CHOWN,CAP_DAC_OVERRIDE ]
    [ "$(field "$output" bounding)" = CAP_CHOWN,CAP_DAC_OVERRIDE,CAP_KILL ]
    grep -qx chown-ok <<<"$output"
    grep -qx read-ok <<<"$output"
    [ "$(stat -c %u "$ROOTFS/owned-by-root")" = 1000 ]

    # Without ambient capabilities, a non-root user has none after exec.
    update_config '.process.capabilities.ambient = []'
    set_args "$TESTHELPER" caps
    run --separate-stderr berth run "$(container_id)"
    [ "$(field "$output" effective)" = none ]
    [ "$(field "$output" permitted)" = none ]
    [ "$(field "$output" inheritable)" = CAP_CHOWN,CAP_DAC_OVERRIDE ]
}

@test "process: rlimits are set, NOFILE lowered" {
    update_config '.process.rlimits = [
        {type: "RLIMIT_NOFILE", soft: 100, hard: 200},
        {type: "RLIMIT_CORE", soft: 0, hard: 0},
        {type: "RLIMIT_NPROC", soft: 500, hard: 1000},
        {type: "RLIMIT_STACK", soft: 4194304, hard: 8388608}]'
    set_args sh -c "$TESTHELPER rlimits; ulimit -n"
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ]
    grep -qx 'NOFILE 100 200' <<<"$output"
    grep -qx 'CORE 0 0' <<<"$output"
    grep -qx 'NPROC 500 1000' <<<"$output"
    grep -qx 'STACK 4194304 8388608' <<<"$output"
    [ "${lines[-1]}" = 100 ]
    # Limits not in the config are inherited unchanged.
    [ "$(grep '^FSIZE ' <<<"$output")" = "$("$BERTH_TESTHELPER" rlimits | grep '^FSIZE ')" ]

    # Above the hard limit berth has: a clear error (needs CAP_SYS_RESOURCE, absent here).
    if ! cap_bound 24; then
        hard=$(ulimit -Hn)
        update_config '.process.rlimits = [{type: "RLIMIT_NOFILE", soft: 10, hard: ($h | tonumber)}]' \
            --arg h "$((hard + 1))"
        run --separate-stderr berth run "$(container_id)"
        [ "$status" -eq 1 ]
        [[ $stderr == *"RLIMIT_NOFILE: raising the hard limit to $((hard + 1)) above the current $hard needs CAP_SYS_RESOURCE"* ]]
        assert_nothing_left
    fi
}

@test "process: noNewPrivileges sets no_new_privs, and only then" {
    update_config '.process.noNewPrivileges = true'
    set_args "$TESTHELPER" seccomp
    run --separate-stderr berth run "$(container_id)"
    [ "$(field "$output" NoNewPrivs)" = 1 ]
    update_config '.process.noNewPrivileges = false'
    run --separate-stderr berth run "$(container_id)"
    [ "$(field "$output" NoNewPrivs)" = 0 ]
    update_config 'del(.process.noNewPrivileges)'
    run --separate-stderr berth run "$(container_id)"
    [ "$(field "$output" NoNewPrivs)" = 0 ]
}

@test "process: oomScoreAdj is raised as configured; lowering it needs a capability" {
    own=$(cat /proc/self/oom_score_adj)
    update_config '.process.oomScoreAdj = 500'
    set_args "$TESTHELPER" oomscore
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ]
    [ "$output" = 500 ]
    [ "$(cat /proc/self/oom_score_adj)" = "$own" ]
    update_config '.process.oomScoreAdj = 1000'
    run --separate-stderr berth run "$(container_id)"
    [ "$output" = 1000 ]

    if ! cap_bound 24 && [ "$own" -gt -1000 ]; then
        update_config '.process.oomScoreAdj = -1000'
        run --separate-stderr berth run "$(container_id)"
        [ "$status" -eq 1 ]
        [[ $stderr == *"process.oomScoreAdj: write -1000 to /proc/self/oom_score_adj"*"CAP_SYS_RESOURCE"* ]]
        assert_nothing_left
    fi
}

@test "process: personality LINUX32" {
    update_config '.linux.personality = {domain: "LINUX32"}'
    set_args sh -c "$TESTHELPER personality; uname -m"
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ]
    [ "$(field "$output" domain)" = LINUX32 ]
    [ "${lines[-1]}" = i686 ] || [ "$(uname -m)" != x86_64 ]
    update_config '.linux.personality = {domain: "LINUX"}'
    run --separate-stderr berth run "$(container_id)"
    [ "$(field "$output" domain)" = LINUX ]
    [ "${lines[-1]}" = "$(uname -m)" ]
}

@test "process: scheduler policy and nice, I/O priority" {
    update_config '.process.scheduler = {policy: "SCHED_BATCH", nice: 7}'
    set_args "$TESTHELPER" sched
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ] || {
        echo "$stderr"
        return 1
    }
    [ "$(field "$output" policy)" = SCHED_BATCH ]
    [ "$(field "$output" nice)" = 7 ]

    update_config '.process.scheduler = {policy: "SCHED_IDLE", flags: ["SCHED_FLAG_RESET_ON_FORK"]}'
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ]
    [ "$(field "$output" policy)" = SCHED_IDLE ]
    [ "$(field "$output" reset_on_fork)" = 1 ]

    update_config 'del(.process.scheduler) | .process.ioPriority = {class: "IOPRIO_CLASS_BE", priority: 6}'
    set_args "$TESTHELPER" ioprio
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ] || {
        echo "$stderr"
        return 1
    }
    [ "$(field "$output" class)" = IOPRIO_CLASS_BE ]
    [ "$(field "$output" priority)" = 6 ]
    update_config '.process.ioPriority = {class: "IOPRIO_CLASS_IDLE"}'
    run --separate-stderr berth run "$(container_id)"
    [ "$(field "$output" class)" = IOPRIO_CLASS_IDLE ]
}

@test "seccomp: a rule makes mkdir fail with the chosen errno; the filter is mode 2" {
    update_config '.root.readonly = false | .linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW",
        architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 122}]}'
    set_args sh -c "$TESTHELPER mkdir /tmp/d; $TESTHELPER write /tmp/f x; $TESTHELPER seccomp"
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ] || {
        echo "$stderr"
        return 1
    }
    [ "${lines[0]}" = EDQUOT ]
    [ "${lines[1]}" = ok ]
    [ "$(field "$output" Seccomp)" = 2 ]
    [ "$(field "$output" Seccomp_filters)" -ge 1 ]
    [ ! -e "$ROOTFS/tmp/d" ]

    # Without errnoRet: EPERM.
    update_config '.linux.seccomp.syscalls[0] |= del(.errnoRet)'
    set_args "$TESTHELPER" mkdir /tmp/d
    run --separate-stderr berth run "$(container_id)"
    [ "$output" = EPERM ]
}

@test "seccomp: defaultAction ERRNO with an allow list" {
    update_config '.root.readonly = false | .linux.seccomp = {defaultAction: "SCMP_ACT_ERRNO",
        defaultErrnoRet: 13,
        syscalls: [{names: ["arch_prctl", "brk", "close", "execve", "execveat", "exit", "exit_group",
            "fstat", "newfstatat", "statx", "getrandom", "mmap", "munmap", "mprotect", "open",
            "openat", "prlimit64", "read", "readlink", "readlinkat", "rseq", "rt_sigaction",
            "rt_sigprocmask", "rt_sigreturn", "set_robust_list", "set_tid_address", "write",
            "writev", "futex", "ioctl", "fcntl", "uname", "lseek", "capset", "capget"],
            action: "SCMP_ACT_ALLOW"}]}'
    set_args "$TESTHELPER" mkdir /tmp/d
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 1 ] || {
        echo "exit $status: $output $stderr"
        return 1
    }
    [ "$output" = EACCES ]
    set_args "$TESTHELPER" syscall-getpid
    run --separate-stderr berth run "$(container_id)"
    [ "$output" = EACCES ]
    # What is on the list works.
    set_args "$TESTHELPER" write /tmp/f x
    run --separate-stderr berth run "$(container_id)"
    [ "$output" = ok ]
    [ -f "$ROOTFS/tmp/f" ]
}

@test "seccomp: rules with argument conditions" {
    update_config '.root.readonly = false | .linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [
          {names: ["chmod"], action: "SCMP_ACT_ERRNO", errnoRet: 1,
           args: [{index: 1, value: 448, op: "SCMP_CMP_EQ"}]},
          {names: ["fchmodat"], action: "SCMP_ACT_ERRNO", errnoRet: 1,
           args: [{index: 2, value: 448, op: "SCMP_CMP_EQ"}]},
          {names: ["fchmodat2"], action: "SCMP_ACT_ERRNO", errnoRet: 1,
           args: [{index: 2, value: 448, op: "SCMP_CMP_EQ"}]},
          {names: ["personality"], action: "SCMP_ACT_ERRNO", errnoRet: 22,
           args: [{index: 0, value: 4294901760, valueTwo: 8, op: "SCMP_CMP_MASKED_EQ"}]}]}'
    touch "$ROOTFS/tmp/f"
    set_args sh -c 'chmod 755 /tmp/f && echo 755-ok; chmod 700 /tmp/f 2>/dev/null || echo 700-refused; stat -c %a /tmp/f'
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ] || {
        echo "$stderr"
        return 1
    }
    [ "${lines[*]}" = "755-ok 700-refused 755" ]
}

@test "seccomp: KILL_PROCESS kills the process with SIGSYS; flags are accepted" {
    update_config '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW",
        flags: ["SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_LOG"],
        syscalls: [{names: ["getpid"], action: "SCMP_ACT_KILL_PROCESS"}]}'
    set_args "$TESTHELPER" syscall-getpid
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 159 ]
    assert_nothing_left
}

@test "seccomp: a filter without noNewPrivileges loads, and CAP_SYS_ADMIN is not left over" {
    update_config '.process.noNewPrivileges = false | .linux.seccomp = {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{names: ["mkdir"], action: "SCMP_ACT_ERRNO", errnoRet: 18}]}'
    set_args sh -c "$TESTHELPER seccomp; $TESTHELPER caps; $TESTHELPER mkdir /tmp/x; true"
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ] || {
        echo "$stderr"
        return 1
    }
    [ "$(field "$output" Seccomp)" = 2 ]
    [ "$(field "$output" NoNewPrivs)" = 0 ]
    [ "$(field "$output" effective)" = CAP_KILL,CAP_NET_BIND_SERVICE,CAP_AUDIT_WRITE ]
    [ "$(field "$output" bounding)" = CAP_KILL,CAP_NET_BIND_SERVICE,CAP_AUDIT_WRITE ]
    [ "${lines[-1]}" = EXDEV ]
}

@test "process: --no-new-keyring is accepted and the container runs" {
    set_args true
    run berth run --no-new-keyring "$(container_id)"
    [ "$status" -eq 0 ]
    berth create --no-new-keyring "$(container_id 2)"
    berth start "$(container_id 2)"
    wait_for_status "$(container_id 2)" stopped
}
