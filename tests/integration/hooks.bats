#!/usr/bin/env bats
# OCI hooks: all six kinds run at their point of the lifecycle, in order, with the state JSON
# on stdin, their args and env; timeouts; what a failing hook does to each step.

# jq filters and container-side shell code are single-quoted on purpose:
# shellcheck disable=SC2016

load helpers
bats_require_minimum_version 1.5.0

setup() {
    berth_setup
    cd "$BERTH_BUNDLE" || return 1
    LOG=$BATS_TEST_TMPDIR/hooklog
    mkdir -p "$LOG"
    HOOK=$BATS_TEST_TMPDIR/hook.sh
    # Records, per kind: the state JSON from stdin, its args and its environment.
    cat >"$HOOK" <<'EOF'
#!/bin/sh
kind=$1
cat >"$LOGDIR/$kind.json"
echo "$kind" >>"$LOGDIR/order"
echo "$*" >"$LOGDIR/$kind.args"
env | sort >"$LOGDIR/$kind.env"
EOF
    chmod 755 "$HOOK"
}

teardown() {
    berth_teardown
}

# hook KIND: a hook entry for KIND that runs $HOOK on the host.
hook_json() {
    jq -nc --arg p "$HOOK" --arg k "$1" --arg log "$LOG" \
        '{path: $p, args: ["hook.sh", $k, "two words"], env: ["LOGDIR=\($log)", "FOO=bar"]}'
}

all_hooks_config() {
    # startContainer runs inside the container, so its path is the container's /bin/sh and it
    # writes through a bind mount of the log directory.
    update_config '.annotations = {"org.example.key": "value"} |
        .mounts += [{destination: "/hooklog", type: "bind", source: $log, options: ["bind"]}] |
        .hooks = {
            prestart: [$pre], createRuntime: [$cr], createContainer: [$cc],
            startContainer: [{path: "/bin/sh", args: ["sh", "-c",
                "cat >/hooklog/startContainer.json; echo startContainer >>/hooklog/order; echo \"$0 $*\" >/hooklog/startContainer.args; env | sort >/hooklog/startContainer.env",
                "startContainer", "two words"], env: ["FOO=bar", "PATH=/bin"]}],
            poststart: [$ps], poststop: [$pst]}' \
        --arg log "$LOG" --argjson pre "$(hook_json prestart)" --argjson cr "$(hook_json createRuntime)" \
        --argjson cc "$(hook_json createContainer)" --argjson ps "$(hook_json poststart)" \
        --argjson pst "$(hook_json poststop)"
}

order() {
    tr '\n' ' ' <"$LOG/order" 2>/dev/null
}

@test "hooks: all six kinds run in order, each at its step" {
    all_hooks_config
    update_config '.root.readonly = false'
    set_args sh -c 'while [ ! -e /go ]; do sleep 0.02; done'
    id=$(container_id)
    berth create "$id"
    [ "$(order)" = "prestart createRuntime createContainer " ]
    berth start "$id"
    # startContainer runs in the container once start released it; poststart in berth start.
    # Which of the two finishes first is not fixed (runc does the same).
    wait_for_file "$LOG/order" '^startContainer$'
    [ "$(head -n3 "$LOG/order" | tr '\n' ' ')" = "prestart createRuntime createContainer " ]
    [ "$(tail -n +4 "$LOG/order" | sort | tr '\n' ' ')" = "poststart startContainer " ]
    touch "$ROOTFS/go"
    wait_for_status "$id" stopped
    [ "$(wc -l <"$LOG/order")" -eq 5 ]
    berth delete "$id"
    [ "$(wc -l <"$LOG/order")" -eq 6 ]
    [ "$(tail -n1 "$LOG/order")" = poststop ]
}

@test "hooks: each gets the state JSON on stdin" {
    all_hooks_config
    set_args sleep 1000
    id=$(container_id)
    berth run -d "$id"
    pid=$(state_field "$id" .pid)
    berth delete --force "$id"
    bundle=$(realpath "$BERTH_BUNDLE")
    declare -A status=([prestart]=creating [createRuntime]=creating [createContainer]=creating
        [startContainer]=created [poststart]=running [poststop]=stopped)
    for kind in "${!status[@]}"; do
        f=$LOG/$kind.json
        jq -e . "$f" >/dev/null || {
            echo "$kind: no state JSON: $(cat "$f")"
            return 1
        }
        [ "$(jq -r .ociVersion "$f")" = "$("$BERTH" features | jq -r .ociVersionMax)" ]
        [ "$(jq -r .id "$f")" = "$id" ]
        [ "$(jq -r .status "$f")" = "${status[$kind]}" ] || {
            echo "$kind: status $(jq -r .status "$f"), expected ${status[$kind]}"
            return 1
        }
        [ "$(jq -r .bundle "$f")" = "$bundle" ]
        [ "$(jq -r '.annotations["org.example.key"]' "$f")" = value ]
        [ "$(jq -r '.pid | type' "$f")" = number ]
    done
    # Hooks in the runtime namespace see the container's pid as the host sees it.
    for kind in prestart createRuntime poststart; do
        [ "$(jq -r .pid "$LOG/$kind.json")" = "$pid" ] || {
            echo "$kind: pid $(jq -r .pid "$LOG/$kind.json"), expected $pid"
            return 1
        }
    done
}

@test "hooks: args and env are passed, nothing else of berth's environment" {
    all_hooks_config
    set_args true
    run env BERTH_HOOK_LEAK=yes "$BERTH" --root "$BERTH_ROOT" run "$(container_id)"
    [ "$status" -eq 0 ]
    for kind in prestart createRuntime createContainer startContainer poststart poststop; do
        [ "$(cat "$LOG/$kind.args")" = "$kind two words" ] || {
            echo "$kind args: $(cat "$LOG/$kind.args")"
            return 1
        }
        grep -qx FOO=bar "$LOG/$kind.env"
        if grep -q BERTH_HOOK_LEAK "$LOG/$kind.env"; then
            echo "$kind inherited berth's environment"
            return 1
        fi
    done
    grep -qx "LOGDIR=$LOG" "$LOG/prestart.env"
}

@test "hooks: a hook without args gets its path as argv[0], without env an empty environment" {
    cat >"$BATS_TEST_TMPDIR/noargs.sh" <<EOF
#!/bin/sh
echo "\$0|\$#" >"$LOG/noargs"
env >"$LOG/noargs.env"
EOF
    chmod 755 "$BATS_TEST_TMPDIR/noargs.sh"
    update_config '.hooks = {createRuntime: [{path: $p}]}' --arg p "$BATS_TEST_TMPDIR/noargs.sh"
    set_args true
    run env BERTH_HOOK_LEAK=yes "$BERTH" --root "$BERTH_ROOT" run "$(container_id)"
    [ "$status" -eq 0 ]
    [ "$(cat "$LOG/noargs")" = "$BATS_TEST_TMPDIR/noargs.sh|0" ]
    if grep -q BERTH_HOOK_LEAK "$LOG/noargs.env"; then
        return 1
    fi
}

@test "hooks: a timeout kills a slow hook and fails the step" {
    update_config '.hooks = {createRuntime: [{path: "/bin/sleep", args: ["sleep", "31.7"], timeout: 1}]}'
    set_args true
    SECONDS=0
    run_files berth create "$(container_id)"
    [ "$status" -eq 1 ]
    [ "$SECONDS" -lt 5 ]
    [[ $stderr == *"createRuntime hook #0 (/bin/sleep): timed out after 1 s"* ]]
    # The hook is gone too.
    if pgrep -f "^sleep 31.7$" >/dev/null; then
        pgrep -af "^sleep 31.7$"
        echo "the timed-out hook is still running"
        return 1
    fi
    assert_nothing_left
}

@test "hooks: the timeout holds even when the state JSON fills the pipe the hook never reads" {
    head -c 200000 /dev/zero | tr '\0' x >"$BATS_TEST_TMPDIR/big"
    update_config '.annotations = {"org.example.big": $v} |
        .hooks = {createRuntime: [{path: "/bin/sleep", args: ["sleep", "4"], timeout: 1}]}' \
        --rawfile v "$BATS_TEST_TMPDIR/big"
    set_args true
    SECONDS=0
    run_files berth create "$(container_id)"
    elapsed=$SECONDS
    [ "$status" -eq 1 ] || {
        echo "create succeeded after $elapsed s although the hook overran its 1 s timeout"
        return 1
    }
    [ "$elapsed" -lt 3 ]
    [[ $stderr == *"timed out after 1 s"* ]]
    assert_nothing_left
}

@test "hooks: a hook that reads its stdin gets all of a large state JSON" {
    head -c 200000 /dev/zero | tr '\0' y >"$BATS_TEST_TMPDIR/big"
    update_config '.annotations = {"org.example.big": $v} | .hooks = {prestart: [$h]}' \
        --rawfile v "$BATS_TEST_TMPDIR/big" --argjson h "$(hook_json prestart)"
    set_args true
    run berth run "$(container_id)"
    [ "$status" -eq 0 ]
    [ "$(jq -r '.annotations["org.example.big"] | length' "$LOG/prestart.json")" = 200000 ]
}

@test "hooks: a failing createRuntime hook fails create, later hooks don't run, nothing left" {
    update_config '.hooks = {createRuntime: [$ok, {path: "/bin/sh", args: ["sh", "-c", "echo broken >&2; exit 4"]}],
        createContainer: [$cc], startContainer: [{path: "/bin/true"}]}' \
        --argjson ok "$(hook_json createRuntime)" --argjson cc "$(hook_json createContainer)"
    set_args true
    for cmd in create run; do
        rm -f "$LOG/order"
        run --separate-stderr berth "$cmd" "$(container_id)"
        [ "$status" -eq 1 ]
        [[ $stderr == *"createRuntime hook #1 (/bin/sh): exit status 4, output: broken"* ]]
        [ "$(order)" = "createRuntime " ]
        assert_nothing_left
    done
}

@test "hooks: a failing poststart hook only warns; the rest run, the container runs" {
    update_config '.hooks = {poststart: [{path: "/bin/false"}, $ps]}' --argjson ps "$(hook_json poststart)"
    set_args sleep 1000
    id=$(container_id)
    berth create "$id"
    run --separate-stderr berth start "$id"
    [ "$status" -eq 0 ]
    [[ $stderr == *"poststart hook #0 (/bin/false): exit status 1"* ]]
    [ "$(state_field "$id" .status)" = running ]
    # The spec: the remaining poststart hooks still run.
    [ "$(order)" = "poststart " ]

    # (not through bats' run: the detached container would keep its pipe open)
    berth run -d "$(container_id 2)" 2>"$BATS_TEST_TMPDIR/err"
    [[ $(cat "$BATS_TEST_TMPDIR/err") == *"poststart hook #0 (/bin/false)"* ]]
    [ "$(state_field "$(container_id 2)" .status)" = running ]
}

@test "hooks: a failing poststop hook only warns; the rest run, delete removes everything" {
    update_config '.hooks = {poststop: [{path: "/bin/sh", args: ["sh", "-c", "exit 9"]}, $pst]}' \
        --argjson pst "$(hook_json poststop)"
    set_args true
    id=$(container_id)
    berth create "$id"
    berth start "$id"
    wait_for_status "$id" stopped
    run --separate-stderr berth delete "$id"
    [ "$status" -eq 0 ]
    [[ $stderr == *"poststop hook #0 (/bin/sh): exit status 9"* ]]
    # The spec: the remaining poststop hooks still run.
    [ "$(order)" = "poststop " ]
    assert_nothing_left

    # berth run deletes, so the poststop hooks run there too.
    rm -f "$LOG/order"
    run --separate-stderr berth run "$id"
    [ "$status" -eq 0 ]
    [ "$(order)" = "poststop " ]
    assert_nothing_left
}

@test "hooks: a failing startContainer hook is an error; the program never runs" {
    # The spec: generate an error, stop the container, go on with delete. (berth start, like
    # runc's, may return before the hook ran; the error then is the container's.)
    update_config '.root.readonly = false | .hooks = {startContainer: [{path: "/bin/false"}]}'
    set_args sh -c 'echo ran >/ran'
    id=$(container_id)
    berth create "$id" 2>"$BATS_TEST_TMPDIR/create.err"
    pid=$(state_field "$id" .pid)
    run_files berth start "$id"
    retry 50 0.05 pid_gone "$pid"
    wait_for_status "$id" stopped
    [ ! -e "$ROOTFS/ran" ]
    errors="$stderr $(cat "$BATS_TEST_TMPDIR/create.err")"
    [[ $errors == *"startContainer hook #0 (/bin/false): exit status 1"* ]]
    berth delete "$id"
    assert_nothing_left

    # berth run waits for the exec, so it reports the hook's failure itself.
    run_files berth run "$(container_id 2)"
    [ "$status" -ne 0 ]
    [[ $stderr == *"startContainer hook #0 (/bin/false): exit status 1"* ]]
    [ ! -e "$ROOTFS/ran" ]
    assert_nothing_left
}

@test "hooks: a failing prestart or createContainer hook fails create" {
    for kind in prestart createContainer; do
        update_config '.hooks = {($k): [{path: "/bin/false"}]}' --arg k "$kind"
        run_files berth create "$(container_id)"
        [ "$status" -eq 1 ]
        [[ $stderr == *"$kind hook #0 (/bin/false): exit status 1"* ]]
        assert_nothing_left
    done
}
