# Shared setup for berth's bats integration tests: `load helpers` at the top of a .bats file.
#
# Environment (the test runner exports all of these; each has a default for runs by hand):
#   BERTH_BIN               the berth binary             (default: $BERTH_BUILD_DIR/berth)
#   BERTH_TESTHELPER        the static berth-testhelper  (default: $BERTH_BUILD_DIR/tests/helpers/berth-testhelper)
#   BERTH_CONSOLE_RECEIVER  console-receiver             (default: $BERTH_BUILD_DIR/tests/helpers/console-receiver)
#   BERTH_ROOTFS_TEMPLATE   rootfs template made by tests/helpers/make-rootfs.sh; built (or
#                           refreshed) on first use when missing or older than the helper
#                           (default: a directory in this bats run's temp dir)
#   BERTH_BUILD_DIR         where the defaults above are looked for (default: the current directory)
#   BERTH_ROOTFS_COPY       "hybrid" (default: hard-linked symlinks, real copies of all files)
#                           or "full" (cp -a)
#
# Running one file by hand, from an out-of-tree build directory:
#   cd /work/build-tests && make -j2
#   export BERTH_BIN=$PWD/berth BERTH_TESTHELPER=$PWD/tests/helpers/berth-testhelper \
#          BERTH_CONSOLE_RECEIVER=$PWD/tests/helpers/console-receiver
#   bats /work/main/tests/integration/FILE.bats              # add -f REGEX to pick tests
#   bats --no-tempdir-cleanup ...                            # keep bundles for a post mortem
#
# What every test gets (from berth_setup, run by the default setup()):
#   $BERTH           the berth binary; `berth ARGS` runs it with --root $BERTH_ROOT
#   $BERTH_ROOT      a state directory of its own
#   $BERTH_BUNDLE    a bundle with rootfs/ (busybox, /bin/berth-testhelper) and config.json
#                    (berth's `spec`, or runc's default spec if berth has none yet), with
#                    process.terminal = false; set_args and update_config change it
#   $ROOTFS          $BERTH_BUNDLE/rootfs
#   $TESTHELPER      the helper's path inside the container (/bin/berth-testhelper)
#   container_id     an id unique to this test (container_id SUFFIX for more than one)
# and berth_teardown (the default teardown()) deletes every container left in $BERTH_ROOT, then
# fails the test if a process, mount, cgroup or zombie outlived it.
# A file that defines its own setup/teardown must call berth_setup/berth_teardown from them.

BERTH_SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BERTH_BUILD_DIR=${BERTH_BUILD_DIR:-$PWD}

berth_abspath() {
    case $1 in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s\n' "$PWD/$1" ;;
    esac
}

BERTH=$(berth_abspath "${BERTH_BIN:-$BERTH_BUILD_DIR/berth}")
BERTH_TESTHELPER=$(berth_abspath "${BERTH_TESTHELPER:-$BERTH_BUILD_DIR/tests/helpers/berth-testhelper}")
BERTH_CONSOLE_RECEIVER=$(berth_abspath "${BERTH_CONSOLE_RECEIVER:-$BERTH_BUILD_DIR/tests/helpers/console-receiver}")
BERTH_ROOTFS_TEMPLATE=$(berth_abspath "${BERTH_ROOTFS_TEMPLATE:-${BATS_RUN_TMPDIR:-/tmp/berth-tests}/rootfs-template}")
TESTHELPER=/bin/berth-testhelper
export BERTH BERTH_TESTHELPER BERTH_CONSOLE_RECEIVER BERTH_ROOTFS_TEMPLATE TESTHELPER

# ---------------------------------------------------------------------------------------------
# Small tools

berth() {
    "$BERTH" --root "$BERTH_ROOT" "$@"
}

container_id() {
    printf '%s\n' "$BERTH_CID${1:+-$1}"
}

require_root() {
    [ "$(id -u)" -eq 0 ] || skip "needs root"
}

require_cmd() {
    local cmd
    for cmd in "$@"; do
        command -v "$cmd" >/dev/null 2>&1 || skip "needs $cmd, which is not installed (tests/install-deps.sh)"
    done
}

# retry N DELAY CMD...: run CMD until it succeeds, at most N times, DELAY seconds apart.
retry() {
    local attempts=$1 delay=$2 i
    shift 2
    for ((i = 1; i <= attempts; i++)); do
        "$@" && return 0
        [ "$i" -lt "$attempts" ] && sleep "$delay"
    done
    echo "retry: '$*' still failing after $attempts attempts" >&2
    return 1
}

# wait_for_status ID STATUS [TIMEOUT=10]: poll `berth state` until .status is STATUS
# (TIMEOUT in whole seconds).
wait_for_status() {
    local id=$1 want=$2 timeout=${3:-10} status="" i
    for ((i = 0; i <= timeout * 10; i++)); do
        status=$(berth state "$id" 2>/dev/null | jq -r '.status // empty' 2>/dev/null) || status=""
        [ "$status" = "$want" ] && return 0
        sleep 0.1
    done
    echo "container $id: status '${status:-<no state>}', expected '$want' within ${timeout}s" >&2
    return 1
}

# update_config JQ_FILTER [JQ_OPTIONS...]: rewrite the bundle's config.json through jq, e.g.
#   update_config '.process.env += [$v]' --arg v FOO=bar
update_config() {
    local config=$BERTH_BUNDLE/config.json
    if ! jq "$@" "$config" >"$config.new"; then
        rm -f "$config.new"
        echo "update_config: jq $* failed" >&2
        return 1
    fi
    mv -f "$config.new" "$config"
}

# set_args ARG...: the container's process.args. Each argument goes through --arg, so values
# that look like jq options (-c, --foo) stay what they are.
set_args() {
    local filter="" opts=() i=0 arg
    for arg in "$@"; do
        filter+="${filter:+, }\$a$i"
        opts+=(--arg "a$i" "$arg")
        i=$((i + 1))
    done
    update_config ".process.args = [$filter]" "${opts[@]}"
}

# ---------------------------------------------------------------------------------------------
# Bundle

# The template is shared by every test of the run, so it is built under a lock.
berth_ensure_rootfs_template() {
    local tmpl=$BERTH_ROOTFS_TEMPLATE
    if [ -x "$tmpl/bin/berth-testhelper" ] && ! [ "$BERTH_TESTHELPER" -nt "$tmpl/bin/berth-testhelper" ]; then
        return 0
    fi
    [ -x "$BERTH_TESTHELPER" ] || {
        echo "berth-testhelper not found at $BERTH_TESTHELPER: build it (make) or set BERTH_TESTHELPER" >&2
        return 1
    }
    mkdir -p "$(dirname "$tmpl")"
    (
        flock 9
        "$BERTH_SRCDIR/tests/helpers/make-rootfs.sh" "$tmpl" "$BERTH_TESTHELPER"
    ) 9>"$tmpl.lock"
}

# A real copy of the template costs ~70 ms, nearly all of it creating ~270 busybox symlinks.
# Symlinks cannot be changed in place, so sharing their inodes is safe; every regular file is
# copied, so a container that writes into its rootfs never reaches the template.
berth_copy_rootfs() { # DEST
    local tmpl=$BERTH_ROOTFS_TEMPLATE dest=$1
    if [ "${BERTH_ROOTFS_COPY:-hybrid}" = hybrid ]; then
        if cp -al "$tmpl" "$dest" 2>/dev/null && (cd "$tmpl" && find . -type f -print0 |
            xargs -0 -r cp --parents -p --reflink=auto --remove-destination -t "$dest"); then
            return 0
        fi
        # Most likely the template lives on another filesystem: no hard links there.
        rm -rf "$dest"
    fi
    cp -a --reflink=auto "$tmpl" "$dest"
}

# runc's default spec (`runc spec`), for as long as `berth spec` does not exist yet.
berth_fallback_spec() {
    cat <<'EOF'
{
	"ociVersion": "1.3.0",
	"process": {
		"terminal": true,
		"user": {
			"uid": 0,
			"gid": 0
		},
		"args": [
			"sh"
		],
		"env": [
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"TERM=xterm"
		],
		"cwd": "/",
		"capabilities": {
			"bounding": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"effective": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"permitted": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			]
		},
		"rlimits": [
			{
				"type": "RLIMIT_NOFILE",
				"hard": 1024,
				"soft": 1024
			}
		],
		"noNewPrivileges": true
	},
	"root": {
		"path": "rootfs",
		"readonly": true
	},
	"hostname": "berth",
	"mounts": [
		{
			"destination": "/proc",
			"type": "proc",
			"source": "proc"
		},
		{
			"destination": "/dev",
			"type": "tmpfs",
			"source": "tmpfs",
			"options": [
				"nosuid",
				"strictatime",
				"mode=755",
				"size=65536k"
			]
		},
		{
			"destination": "/dev/pts",
			"type": "devpts",
			"source": "devpts",
			"options": [
				"nosuid",
				"noexec",
				"newinstance",
				"ptmxmode=0666",
				"mode=0620",
				"gid=5"
			]
		},
		{
			"destination": "/dev/shm",
			"type": "tmpfs",
			"source": "shm",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"mode=1777",
				"size=65536k"
			]
		},
		{
			"destination": "/dev/mqueue",
			"type": "mqueue",
			"source": "mqueue",
			"options": [
				"nosuid",
				"noexec",
				"nodev"
			]
		},
		{
			"destination": "/sys",
			"type": "sysfs",
			"source": "sysfs",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"ro"
			]
		},
		{
			"destination": "/sys/fs/cgroup",
			"type": "cgroup",
			"source": "cgroup",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"relatime",
				"ro"
			]
		}
	],
	"linux": {
		"resources": {
			"devices": [
				{
					"allow": false,
					"access": "rwm"
				}
			]
		},
		"namespaces": [
			{
				"type": "pid"
			},
			{
				"type": "network"
			},
			{
				"type": "ipc"
			},
			{
				"type": "uts"
			},
			{
				"type": "mount"
			},
			{
				"type": "cgroup"
			}
		],
		"maskedPaths": [
			"/proc/acpi",
			"/proc/asound",
			"/proc/kcore",
			"/proc/keys",
			"/proc/latency_stats",
			"/proc/timer_list",
			"/proc/timer_stats",
			"/proc/sched_debug",
			"/sys/firmware",
			"/proc/scsi"
		],
		"readonlyPaths": [
			"/proc/bus",
			"/proc/fs",
			"/proc/irq",
			"/proc/sys",
			"/proc/sysrq-trigger"
		]
	}
}
EOF
}

# The default config.json, made once per bats run: from `berth spec` (which, like runc's, may
# write config.json into the current directory or print it) or else the fallback above.
berth_default_spec() {
    local cache dir out
    # Outside bats there is no per-run directory, and a cache that outlives the run goes stale.
    cache=${BATS_RUN_TMPDIR:-$(mktemp -d)}/berth-default-spec.json
    if [ ! -s "$cache" ]; then
        dir=$(mktemp -d "$(dirname "$cache")/spec.XXXXXX")
        out=$(cd "$dir" && timeout 10 "$BERTH" spec 2>/dev/null) || out=""
        if [ -s "$dir/config.json" ] && jq -e .ociVersion "$dir/config.json" >/dev/null 2>&1; then
            cp "$dir/config.json" "$cache.$$"
        elif [ -n "$out" ] && jq -e .ociVersion <<<"$out" >/dev/null 2>&1; then
            printf '%s\n' "$out" >"$cache.$$"
        else
            berth_fallback_spec >"$cache.$$"
        fi
        mv -f "$cache.$$" "$cache"
        rm -rf "$dir"
    fi
    cat "$cache"
    [ -n "${BATS_RUN_TMPDIR:-}" ] || rm -rf "$(dirname "$cache")"
}

# berth_make_bundle DIR [ARG...]: rootfs copy plus config.json with terminal false and, when
# given, process.args.
berth_make_bundle() {
    local dir=$1
    shift
    mkdir -p "$dir"
    berth_ensure_rootfs_template || return 1
    berth_copy_rootfs "$dir/rootfs" || return 1
    berth_default_spec | jq '.process.terminal = false' >"$dir/config.json" || return 1
    if [ $# -gt 0 ]; then
        BERTH_BUNDLE=$dir set_args "$@"
    fi
}

# ---------------------------------------------------------------------------------------------
# setup / teardown

# berth_setup [ARG...]: per-test root, bundle and container id; ARGs become process.args.
berth_setup() {
    BERTH_TEST_DIR=${BATS_TEST_TMPDIR:?bats >= 1.4 is needed (BATS_TEST_TMPDIR)}
    BERTH_ROOT=$BERTH_TEST_DIR/root
    BERTH_BUNDLE=$BERTH_TEST_DIR/bundle
    ROOTFS=$BERTH_BUNDLE/rootfs # for the tests
    BERTH_CID=t${BATS_SUITE_TEST_NUMBER:-$BATS_TEST_NUMBER}-$$
    mkdir -p "$BERTH_ROOT"
    berth_make_bundle "$BERTH_BUNDLE" "$@"
}

# Container ids known to this test: whatever berth lists plus the state directories.
berth_known_ids() {
    local line d
    {
        if "$BERTH" --root "$BERTH_ROOT" list -q 2>/dev/null; then :; fi
        for d in "$BERTH_ROOT"/*/; do
            [ -d "$d" ] && basename "$d"
        done
    } | while read -r line; do
        [[ $line =~ ^[A-Za-z0-9][A-Za-z0-9_.+-]*$ ]] && printf '%s\n' "$line"
    done | sort -u
}

BERTH_LEAK_PIDS=()
BERTH_LEAK_MOUNTS=()
BERTH_LEAK_CGROUPS=()
BERTH_LEAK_ZOMBIES=()

# Fill the BERTH_LEAK_* arrays; succeed only if all are empty.
berth_find_leaks() {
    local dir=$BERTH_TEST_DIR f line pid
    BERTH_LEAK_PIDS=()
    BERTH_LEAK_MOUNTS=()
    BERTH_LEAK_CGROUPS=()
    BERTH_LEAK_ZOMBIES=()

    # The pattern comes from a file, so grep's own command line never matches it.
    for f in $(grep -laF -f <(printf '%s\n' "$dir") /proc/[0-9]*/cmdline 2>/dev/null); do
        pid=${f#/proc/}
        pid=${pid%/cmdline}
        [ "$pid" = "$$" ] || [ "$pid" = "$BASHPID" ] || BERTH_LEAK_PIDS+=("$pid")
    done

    while read -r line; do
        BERTH_LEAK_MOUNTS+=("$line")
    done < <(awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo)

    # Ids are matched as whole words so that t1-12 does not match t1-123.
    if [ -n "${BERTH_CID:-}" ]; then
        while read -r line; do
            BERTH_LEAK_CGROUPS+=("$line")
        done < <(find /sys/fs/cgroup -mindepth 1 -type d \( -name "$BERTH_CID" -o \
            -name "${BERTH_CID}[!A-Za-z0-9]*" -o -name "*[!A-Za-z0-9]${BERTH_CID}" -o \
            -name "*[!A-Za-z0-9]${BERTH_CID}[!A-Za-z0-9]*" \) -prune -print 2>/dev/null)
    fi

    # awk rather than a bash loop: bats traces every bash command, which costs ~1 ms each.
    # The comm field may hold spaces and parentheses, so fields count from the last ") ".
    while read -r pid; do
        BERTH_LEAK_ZOMBIES+=("$pid")
    done < <(awk -v a="$$" -v b="$BASHPID" '
        { line = $0; sub(/.*\) /, "", line); split(line, f, " ")
          if (f[1] == "Z" && (f[2] == a || f[2] == b)) { split(FILENAME, p, "/"); print p[3] } }
        ' /proc/[0-9]*/stat 2>/dev/null)

    [ ${#BERTH_LEAK_PIDS[@]} -eq 0 ] && [ ${#BERTH_LEAK_MOUNTS[@]} -eq 0 ] &&
        [ ${#BERTH_LEAK_CGROUPS[@]} -eq 0 ] && [ ${#BERTH_LEAK_ZOMBIES[@]} -eq 0 ]
}

berth_report_leaks() {
    local pid m cg
    for pid in "${BERTH_LEAK_PIDS[@]}"; do
        echo "LEAK: process $pid still running: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" >&2
    done
    for m in "${BERTH_LEAK_MOUNTS[@]}"; do
        echo "LEAK: mount $m" >&2
    done
    for cg in "${BERTH_LEAK_CGROUPS[@]}"; do
        echo "LEAK: cgroup $cg (procs: $(tr '\n' ' ' <"$cg/cgroup.procs" 2>/dev/null))" >&2
    done
    for pid in "${BERTH_LEAK_ZOMBIES[@]}"; do
        echo "LEAK: zombie $pid ($(cat "/proc/$pid/comm" 2>/dev/null)) not reaped by the test shell" >&2
    done
}

# Remove what leaked, so that one failure does not spill into the tests after it.
berth_clean_leaks() {
    local pid m cg i
    for pid in "${BERTH_LEAK_PIDS[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
    done
    for ((i = ${#BERTH_LEAK_MOUNTS[@]} - 1; i >= 0; i--)); do
        umount -l "${BERTH_LEAK_MOUNTS[i]}" 2>/dev/null || true
    done
    for cg in "${BERTH_LEAK_CGROUPS[@]}"; do
        # Deepest first: a cgroup with children cannot be removed.
        while read -r m; do
            if [ -e "$m/cgroup.kill" ]; then
                echo 1 >"$m/cgroup.kill" 2>/dev/null || true
            fi
            for pid in $(cat "$m/cgroup.procs" 2>/dev/null); do
                kill -KILL "$pid" 2>/dev/null || true
            done
        done < <(find "$cg" -depth -type d 2>/dev/null)
        for i in 1 2 3 4 5 6 7 8 9 10; do
            find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
            [ -d "$cg" ] || break
            sleep 0.1
        done
    done
}

# start_receiver [ARGS...]: our console-receiver listening on $SOCK, what it reads from the
# pty in $CONSOLE_OUT (both in the test's tmpdir); wait_receiver waits until the pty closed
# and it exited, and leaves $CONSOLE_OUT.txt without CRs; stop_receiver (teardown) kills it.
start_receiver() {
    [ -x "$BERTH_CONSOLE_RECEIVER" ] || skip "console-receiver not built ($BERTH_CONSOLE_RECEIVER)"
    SOCK=$BATS_TEST_TMPDIR/console.sock
    CONSOLE_OUT=$BATS_TEST_TMPDIR/console.out
    rm -f "$SOCK" "$CONSOLE_OUT"
    "$BERTH_CONSOLE_RECEIVER" "$SOCK" --out "$CONSOLE_OUT" --timeout 10 "$@" \
        2>"$BATS_TEST_TMPDIR/receiver.err" &
    RECEIVER_PID=$!
    wait_for_file "$SOCK"
}

wait_receiver() {
    local status=0
    wait "$RECEIVER_PID" || status=$?
    RECEIVER_PID=
    tr -d '\r' <"$CONSOLE_OUT" >"$CONSOLE_OUT.txt"
    return "$status"
}

stop_receiver() {
    if [ -n "${RECEIVER_PID:-}" ]; then
        kill "$RECEIVER_PID" 2>/dev/null || true
        wait "$RECEIVER_PID" 2>/dev/null || true
        RECEIVER_PID=
    fi
}

berth_teardown() {
    local id i
    [ -n "${BERTH_TEST_DIR:-}" ] || return 0
    if [ -d "$BERTH_ROOT" ]; then
        for id in $(berth_known_ids); do
            timeout 30 "$BERTH" --root "$BERTH_ROOT" delete --force "$id" >/dev/null 2>&1 || true
        done
    fi
    # Processes die and cgroups empty asynchronously after delete; give them 3 s.
    for ((i = 0; i < 30; i++)); do
        berth_find_leaks && return 0
        sleep 0.1
    done
    berth_report_leaks
    berth_clean_leaks
    echo "berth_teardown: test $BATS_TEST_NAME left the above behind" >&2
    return 1
}

setup() {
    berth_setup "$@"
}

teardown() {
    berth_teardown
}

# ---------------------------------------------------------------------------------------------
# Shared by the runtime's test files

# wait_for_file FILE [PATTERN] [TIMEOUT=5]: until FILE exists (and holds a line matching the
# extended regex PATTERN); TIMEOUT in whole seconds.
wait_for_file() {
    local file=$1 pattern=${2:-} timeout=${3:-5} i
    for ((i = 0; i < timeout * 20; i++)); do
        if [ -e "$file" ] && { [ -z "$pattern" ] || grep -qE -- "$pattern" "$file"; }; then
            return 0
        fi
        sleep 0.05
    done
    echo "$file never showed ${pattern:-up} within ${timeout}s; it holds:" >&2
    cat "$file" >&2 2>/dev/null || true
    return 1
}

# assert_root_empty: no container directory (or anything else) is left in $BERTH_ROOT.
assert_root_empty() {
    local left
    left=$(find "$BERTH_ROOT" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null)
    [ -z "$left" ] || {
        echo "left behind in $BERTH_ROOT: $left" >&2
        return 1
    }
}

# assert_nothing_left: an empty root, and no process, mount, cgroup or zombie of this test
# (what the teardown checks, but right now, e.g. just after a failed create).
assert_nothing_left() {
    local i
    assert_root_empty || return 1
    for ((i = 0; i < 20; i++)); do
        berth_find_leaks && return 0
        sleep 0.1
    done
    berth_report_leaks
    return 1
}

# state_field ID JQ_PATH: one field of `berth state ID` (raw).
state_field() {
    berth state "$1" | jq -r "$2"
}

# host_ns NAME: the host's (this shell's) namespace link, e.g. host_ns net -> net:[4026531840]
host_ns() {
    readlink "/proc/$$/ns/$1"
}

# pid_gone PID: the process no longer runs (gone, or a zombie nobody has reaped yet: this
# machine's pid 1 reaps orphans slowly).
pid_gone() {
    local st
    [ -d "/proc/$1" ] || return 0
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 0
    [ -z "$st" ] || [ "$st" = Z ] || [ "$st" = X ]
}

# allow_traversal PATH: let any uid (a user namespace's root is one on the host) reach PATH,
# which must lie in bats' temporary directory: adds o+x to PATH and every directory above it
# up to $BATS_RUN_TMPDIR (mktemp makes them 0700).
allow_traversal() {
    local p top
    p=$(realpath "$1")
    top=$(realpath "${BATS_RUN_TMPDIR:?}")
    case $p in
    "$top" | "$top"/*) ;;
    *)
        echo "allow_traversal: $p is not below $top" >&2
        return 1
        ;;
    esac
    while :; do
        chmod o+x "$p"
        [ "$p" != "$top" ] || break
        p=$(dirname "$p")
    done
}

# run_files CMD...: bats' `run --separate-stderr`, through files instead of pipes, for
# commands that may leave a container behind (create, run -d): its process inherits stdout
# and stderr, and a pipe would keep the test waiting for EOF. Sets status, output, stderr
# and lines.
# shellcheck disable=SC2034 # status, output, stderr and lines are for the caller
run_files() {
    local out=$BATS_TEST_TMPDIR/.run_files.out err=$BATS_TEST_TMPDIR/.run_files.err
    status=0
    "$@" >"$out" 2>"$err" </dev/null || status=$?
    output=$(cat "$out")
    stderr=$(cat "$err")
    lines=()
    [ -z "$output" ] || mapfile -t lines <<<"$output"
}
