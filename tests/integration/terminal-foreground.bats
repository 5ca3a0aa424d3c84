#!/usr/bin/env bats
# A foreground `run` or `exec` and berth's own stdio. With a terminal and no console socket,
# berth proxies the pty to its own terminal: driven through tmux like a person at a
# keyboard (type, read the screen, resize, Ctrl-C, exit status, the terminal back in cooked
# mode). EOF of a stdin that is not a terminal. Without a terminal, stdio passes through
# untouched: 100 MiB each way, byte-exact.

# jq filters and container-side shell code are single-quoted on purpose:
# shellcheck disable=SC2016

load helpers
bats_require_minimum_version 1.5.0

setup() {
    berth_setup
    cd "$BERTH_BUNDLE" || return 1
    TMUX_SOCK=$BATS_TEST_TMPDIR/tmux.sock
}

teardown() {
    if [ -S "${TMUX_SOCK:-}" ]; then
        tmux -S "$TMUX_SOCK" kill-server 2>/dev/null || true
    fi
    berth_teardown
}

# ---------------------------------------------------------------------------------------------
# tmux: a terminal the test can type into and read

t() {
    tmux -S "$TMUX_SOCK" "$@"
}

# pane_start ARG...: in a new 80x24 tmux pane, record the terminal's settings (stty -g), run
# `berth ARG...`, then record its exit status and the settings again. Files in $PANE:
# stty.before, exit, stty.after, stty.after.all.
pane_start() {
    pane_run "$BERTH" --root "$BERTH_ROOT" "$@"
}

# pane_run CMD...: the same for any command.
pane_run() {
    require_cmd tmux
    PANE=$BATS_TEST_TMPDIR/pane
    mkdir -p "$PANE"
    cat >"$PANE/run.sh" <<'EOF'
#!/bin/bash
# $1: result directory, $2: working directory, then berth's argv
dir=$1
cd "$2" || exit 1
shift 2
stty -g >"$dir/stty.before"
"$@"
echo "$?" >"$dir/exit.new"
stty -g >"$dir/stty.after"
stty -a >"$dir/stty.after.all"
mv "$dir/exit.new" "$dir/exit"
echo "PANE DONE"
# keep the pane (and its screen) until the test kills the server
read -r _
EOF
    t -f /dev/null new-session -d -s berth -x 80 -y 24 \
        bash "$PANE/run.sh" "$PANE" "$PWD" "$@"
}

screen() {
    t capture-pane -p -t berth
}

# wait_screen ERE [TIMEOUT=10]: until a line of the pane matches ERE.
wait_screen() {
    local i
    for ((i = 0; i < ${2:-10} * 10; i++)); do
        screen | grep -qE -- "$1" && return 0
        sleep 0.1
    done
    echo "the screen never showed /$1/ within ${2:-10}s; it shows:" >&2
    screen | sed 's/^/  | /' >&2
    return 1
}

# type_line TEXT: type TEXT and Enter.
type_line() {
    t send-keys -t berth -l "$1"
    t send-keys -t berth Enter
}

# pane_finished: berth has returned in the pane; EXIT is its status.
pane_finished() {
    wait_for_file "$PANE/exit" '' 20
    EXIT=$(cat "$PANE/exit")
}

# pane_stop: end tmux (its server and the pane's shell are this test's processes).
pane_stop() {
    t kill-server 2>/dev/null || true
    retry 30 0.1 sh -c '! [ -S "$1" ]' sh "$TMUX_SOCK" || true
}

# assert_cooked: the pane's terminal has the settings it had before berth ran, and they are
# cooked ones (canonical input, echo).
assert_cooked() {
    diff "$PANE/stty.before" "$PANE/stty.after" || {
        echo "the terminal settings changed:"
        cat "$PANE/stty.after.all"
        return 1
    }
    grep -qw icanon "$PANE/stty.after.all"
    grep -qw echo "$PANE/stty.after.all"
    ! grep -qw -- -icanon "$PANE/stty.after.all" || return 1
    ! grep -qw -- -echo "$PANE/stty.after.all" || return 1
}

# interactive_session ID: at an interactive shell prompt "CTR> " in container ID, through
# the pane: type and read, resize, Ctrl-C and Ctrl-\ to the foreground process, a sleep
# interrupted with the shell still alive, then `exit 3`.
interactive_session() {
    local id=$1
    wait_screen '^CTR>'
    type_line 'stty size; tty; echo "sum=$((20+22))"'
    wait_screen '^sum=42$'
    screen | grep -qx '24 80'
    screen | grep -qE '^/dev/pts/[0-9]+$'

    # The window grows: the container's pty follows (SIGWINCH).
    t resize-window -t berth -x 100 -y 30
    sleep 0.5
    type_line 'stty size'
    wait_screen '^30 100$'

    # Ctrl-C and Ctrl-\ reach the container's foreground process as SIGINT and SIGQUIT.
    type_line "$TESTHELPER signals"
    wait_screen '^ready$'
    t send-keys -t berth C-c
    wait_screen 'got SIGINT$'
    t send-keys -t berth 'C-\'
    wait_screen 'got SIGQUIT$'
    # (the helper ends on SIGTERM; the interactive shell ignores it)
    berth kill --all "$id" TERM
    wait_screen 'got SIGTERM$'

    # A sleep is interrupted by Ctrl-C; the shell survives it.
    type_line 'sleep 1000'
    retry 50 0.1 sh -c '"$1" --root "$2" ps "$3" | grep -q "sleep 1000"' sh "$BERTH" "$BERTH_ROOT" "$id"
    t send-keys -t berth C-c
    type_line 'echo "alive-$((6*7))"'
    wait_screen '^alive-42$' 5

    type_line 'exit 3'
    pane_finished
    [ "$EXIT" -eq 3 ]
    assert_cooked
    pane_stop
}

@test "terminal: an interactive berth run in tmux: type, read, resize, Ctrl-C, exit status" {
    update_config '.process.terminal = true | .process.env += ["PS1=CTR> "]'
    set_args sh
    id=$(container_id)
    pane_start run "$id"
    interactive_session "$id"
    # run removed the container afterwards.
    assert_nothing_left
}

@test "terminal: an interactive berth exec -t in tmux: type, read, resize, Ctrl-C, exit status" {
    set_args "$TESTHELPER" sleep inf
    id=$(container_id)
    run_files berth run -d "$id"
    [ "$status" -eq 0 ]
    pane_start exec -t -e 'PS1=CTR> ' "$id" sh
    interactive_session "$id"
    # The container is untouched by the exec's end.
    [ "$(state_field "$id" .status)" = running ]
}

@test "terminal: killed from outside, berth run exits 137 and restores the terminal" {
    update_config '.process.terminal = true | .process.env += ["PS1=CTR> "]'
    set_args sh
    id=$(container_id)
    pane_start run "$id"
    wait_screen '^CTR>'
    berth kill "$id" KILL
    pane_finished
    [ "$EXIT" -eq 137 ]
    assert_cooked
    pane_stop
    assert_nothing_left
}

@test "terminal: berth run piped into head: the terminal is restored, nothing is left" {
    # stdin is the terminal (raw while berth runs), stdout a pipe whose reader goes away
    # early: berth must neither die of SIGPIPE in raw mode nor leave the container behind.
    update_config '.process.terminal = true'
    set_args sh -c 'i=0; while [ $i -lt 3000 ]; do echo "line $i of many, many lines"; i=$((i+1)); done;
        sleep 1; exit 0'
    id=$(container_id)
    pane_run bash -c '"$0" --root "$1" run "$2" | head -c 100 >/dev/null; exit "${PIPESTATUS[0]}"' \
        "$BERTH" "$BERTH_ROOT" "$id"
    pane_finished
    echo "berth exited $EXIT"
    assert_cooked
    pane_stop
    assert_nothing_left
}

@test "terminal: a failing exec -t leaves the terminal as it was" {
    set_args "$TESTHELPER" sleep inf
    id=$(container_id)
    run_files berth run -d "$id"
    pane_start exec -t "$id" /nonexistent
    pane_finished
    [ "$EXIT" -eq 1 ]
    wait_screen 'No such file or directory'
    assert_cooked
}

@test "terminal: with a terminal, the process's output reaches berth's stdout, CRLF and all" {
    update_config '.process.terminal = true'
    set_args sh -c 'printf "one\ntwo\n"; exit 9'
    run --separate-stderr berth run "$(container_id)" </dev/null
    [ "$status" -eq 9 ]
    [ "$output" = $'one\r\ntwo\r' ]
    [ -z "$stderr" ]
}

# ---------------------------------------------------------------------------------------------
# EOF of a stdin that is not a terminal

@test "terminal: EOF of a non-tty stdin reaches a run with a terminal" {
    update_config '.process.terminal = true'
    set_args cat
    run --separate-stderr timeout 20 "$BERTH" --root "$BERTH_ROOT" run "$(container_id)" </dev/null
    [ "$status" -eq 0 ]
    set_args sh -c 'while read -r l; do echo "read:$l"; done; echo "eof"'
    run --separate-stderr timeout 20 "$BERTH" --root "$BERTH_ROOT" run "$(container_id)" \
        < <(printf 'a\nb\n')
    [ "$status" -eq 0 ] || {
        echo "exit $status: $output"
        return 1
    }
    out=$(tr -d '\r' <<<"$output")
    grep -qx 'read:a' <<<"$out"
    grep -qx 'read:b' <<<"$out"
    grep -qx 'eof' <<<"$out"
    assert_nothing_left
}

@test "terminal: EOF of a non-tty stdin reaches exec -t: whole lines" {
    set_args "$TESTHELPER" sleep inf
    id=$(container_id)
    run_files berth run -d "$id"
    run --separate-stderr timeout 20 "$BERTH" --root "$BERTH_ROOT" exec -t "$id" \
        sh -c 'while read -r l; do echo "read:$l"; done; echo eof; exit 4' < <(printf 'line1\nline2\n')
    [ "$status" -eq 4 ] || {
        echo "exit $status: $output"
        return 1
    }
    out=$(tr -d '\r' <<<"$output")
    grep -qx 'read:line1' <<<"$out"
    grep -qx 'read:line2' <<<"$out"
    grep -qx eof <<<"$out"
}

@test "terminal: EOF of a non-tty stdin reaches exec -t after a partial last line" {
    # On a terminal, EOF after a partial line takes two EOF characters: the first only hands
    # the partial line to the reader. `printf abc | berth exec -t ID cat` must end.
    set_args "$TESTHELPER" sleep inf
    id=$(container_id)
    run_files berth run -d "$id"
    run --separate-stderr timeout 20 "$BERTH" --root "$BERTH_ROOT" exec -t "$id" cat < <(printf abc)
    echo "exit $status, output: $(printf %q "$output")"
    [ "$status" -eq 0 ]
    [[ $output == *abc* ]]
}

# ---------------------------------------------------------------------------------------------
# stdio without a terminal: passed through untouched

# big_file: 100 MiB of random bytes in $BIG, its sha256 in $BIG_SHA.
big_file() {
    BIG=$BATS_TEST_TMPDIR/big
    head -c 100M /dev/urandom >"$BIG"
    BIG_SHA=$(sha256sum "$BIG" | cut -d' ' -f1)
}

@test "stdio: 100 MiB through run's stdin arrives byte-exact" {
    big_file
    set_args "$TESTHELPER" cat-stdin-hash
    # From a file ...
    run --separate-stderr berth run "$(container_id)" <"$BIG"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "sha256: $BIG_SHA" ]
    [ "${lines[1]}" = "bytes: 104857600" ]
    # ... and from a pipe.
    run --separate-stderr bash -c 'cat "$1" | "$2" --root "$3" run "$4"' bash "$BIG" "$BERTH" \
        "$BERTH_ROOT" "$(container_id)"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "sha256: $BIG_SHA" ]
    [ "${lines[1]}" = "bytes: 104857600" ]
}

@test "stdio: 100 MiB out of run's stdout and stderr arrive byte-exact" {
    big_file
    set_args cat
    got=$(berth run "$(container_id)" <"$BIG" | sha256sum | cut -d' ' -f1)
    [ "$got" = "$BIG_SHA" ]
    set_args sh -c 'cat >&2'
    got=$( (berth run "$(container_id)" <"$BIG" 2>&1 >/dev/null) | sha256sum | cut -d' ' -f1)
    [ "$got" = "$BIG_SHA" ]
}

@test "stdio: 100 MiB in and out of exec, byte-exact" {
    big_file
    set_args "$TESTHELPER" sleep inf
    id=$(container_id)
    run_files berth run -d "$id"
    run --separate-stderr berth exec "$id" "$TESTHELPER" cat-stdin-hash <"$BIG"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "sha256: $BIG_SHA" ]
    got=$(berth exec "$id" cat <"$BIG" | sha256sum | cut -d' ' -f1)
    [ "$got" = "$BIG_SHA" ]
}

@test "stdio: the process's stdio are berth's own open files: a pipe, a file, /dev/null" {
    # The container (sh, pid 1) reports on fd 3 (preserved), so that 0, 1 and 2 can be anything.
    set_args sh -c 'ids=$(stat -L -c %d:%i /proc/1/fd/0 /proc/1/fd/1 /proc/1/fd/2); echo "$ids" >&3'
    d=$BATS_TEST_TMPDIR
    : >"$d/out"
    run bash -c 'exec 6< <(echo hi); stat -L -c %d:%i /dev/fd/6 >"$1/pipe"
        exec "$2" --root "$3" run --preserve-fds 1 "$4" <&6 6<&- 3>"$1/report" >"$1/out" 2>/dev/null' \
        bash "$d" "$BERTH" "$BERTH_ROOT" "$(container_id)"
    [ "$status" -eq 0 ]
    mapfile -t ids <"$d/report"
    [ "${ids[0]}" = "$(cat "$d/pipe")" ]
    [ "${ids[1]}" = "$(stat -L -c %d:%i "$d/out")" ]
    [ "${ids[2]}" = "$(stat -L -c %d:%i /dev/null)" ]
}
