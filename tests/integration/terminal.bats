#!/usr/bin/env bats
# process.terminal: the pty master goes to --console-socket; the process gets the slave as
# its stdio and controlling terminal, /dev/console, and consoleSize.

# jq filters and container-side shell code are single-quoted on purpose:
# shellcheck disable=SC2016

load helpers
bats_require_minimum_version 1.5.0

setup() {
    berth_setup
    cd "$BERTH_BUNDLE" || return 1
    [ -x "$BERTH_CONSOLE_RECEIVER" ] || skip "console-receiver not built ($BERTH_CONSOLE_RECEIVER)"
    update_config '.process.terminal = true'
}

teardown() {
    stop_receiver
    berth_teardown
}

@test "terminal: the process has the pty as stdio and controlling terminal, /dev/console" {
    update_config '.process.consoleSize = {height: 33, width: 111}'
    set_args sh -c "$TESTHELPER tty; stat -c '%n %F %t' /dev/console; tty"
    start_receiver
    run --separate-stderr berth run --console-socket "$SOCK" "$(container_id)"
    [ "$status" -eq 0 ] || {
        echo "$stderr"
        return 1
    }
    wait_receiver
    out=$(cat "$CONSOLE_OUT.txt")
    echo "$out"
    for fd in 0 1 2; do
        grep -qE "^fd$fd: isatty=1 ttyname=/dev/pts/[0-9]+$" <<<"$out"
    done
    grep -qx 'ctty: yes' <<<"$out"
    grep -qx 'winsize: 33x111' <<<"$out"
    # /dev/console is the pty (major 136 = 0x88, the devpts slaves).
    grep -qx '/dev/console character special file 88' <<<"$out"
    grep -qE '^/dev/pts/[0-9]+$' <<<"$out"
    # The terminal is the container's own: the pty of its devpts instance.
    grep -qE '^received pty /dev/pts/[0-9]+$' "$BATS_TEST_TMPDIR/receiver.err"
}

@test "terminal: input typed on the console reaches the process" {
    set_args sh -c 'read -r line; echo "got=$line"'
    start_receiver --input $'hello console\n'
    run --separate-stderr berth run --console-socket "$SOCK" "$(container_id)"
    [ "$status" -eq 0 ]
    wait_receiver
    grep -qx 'got=hello console' "$CONSOLE_OUT.txt"
}

@test "terminal: create with --console-socket hands the pty over, start runs on it" {
    set_args sh -c "$TESTHELPER tty | head -n1; exit 3"
    start_receiver
    id=$(container_id)
    berth create --console-socket "$SOCK" "$id"
    # The master was handed over at create.
    grep -qE '^received pty ' "$BATS_TEST_TMPDIR/receiver.err"
    berth start "$id"
    wait_for_status "$id" stopped
    wait_receiver
    grep -qE '^fd0: isatty=1 ttyname=/dev/pts/[0-9]+$' "$CONSOLE_OUT.txt"
    berth delete "$id"
    assert_nothing_left
}

@test "terminal: without consoleSize the size is the receiver's resize" {
    set_args sh -c "sleep 0.5; $TESTHELPER tty"
    start_receiver --resize 20x70
    run --separate-stderr berth run --console-socket "$SOCK" "$(container_id)"
    [ "$status" -eq 0 ]
    wait_receiver
    grep -qx 'winsize: 20x70' "$CONSOLE_OUT.txt"
}

@test "terminal: true without --console-socket is refused by create and run -d" {
    set_args true
    for cmd in create "run -d"; do
        # shellcheck disable=SC2086 # "run -d" is two words on purpose
        run_files berth $cmd "$(container_id)"
        [ "$status" -eq 1 ] || {
            echo "berth $cmd: exit $status"
            return 1
        }
        [[ $stderr == *"process.terminal is true: pass --console-socket"* ]]
        assert_nothing_left
    done
}

@test "terminal: run in the foreground without --console-socket gives the process a pty" {
    set_args sh -c "$TESTHELPER tty; read -r line; echo \"got=\$line\"; exit 4"
    run --separate-stderr berth run "$(container_id)" <<<"typed"
    [ "$status" -eq 4 ]
    out=$(tr -d '\r' <<<"$output")
    grep -qE '^fd0: isatty=1 ttyname=/dev/pts/[0-9]+$' <<<"$out"
    grep -qE '^fd1: isatty=1 ttyname=/dev/pts/[0-9]+$' <<<"$out"
    grep -qx 'got=typed' <<<"$out"
    assert_nothing_left
}

@test "terminal: a console socket nobody listens on is an error, nothing left" {
    set_args true
    run_files berth create --console-socket "$BATS_TEST_TMPDIR/nobody.sock" "$(container_id)"
    [ "$status" -eq 1 ]
    [[ $stderr == *"connect to console socket $BATS_TEST_TMPDIR/nobody.sock"* ]]
    assert_nothing_left
}

@test "terminal: no /dev/console without a terminal" {
    update_config '.process.terminal = false'
    set_args sh -c 'test -e /dev/console && echo present || echo absent'
    run --separate-stderr berth run "$(container_id)"
    [ "$status" -eq 0 ]
    [ "$output" = absent ]
}
