#!/usr/bin/env bash
# Checks that tests/vm/run.sh gives a pure cgroup v2 machine and behaves as
# documented: exit status, output streams, shares, timeout, parallel runs.
# Usage: tests/vm/selftest.sh   (as root; prints "selftest: N passed, M failed")
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
run=$here/run.sh

passed=0
failed=0
ok() {
	echo "ok - $*"
	passed=$((passed + 1))
}
not_ok() {
	echo "not ok - $*"
	failed=$((failed + 1))
}
quiet() { "$@" > /dev/null 2>&1; }
check() { # DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

# ------------------------------------------------------------ in the guest
guest() {
	local cg=/sys/fs/cgroup child
	echo "--- /proc/self/cgroup"
	cat /proc/self/cgroup
	echo "--- cgroup.controllers"
	cat $cg/cgroup.controllers
	echo "--- cgroup.subtree_control"
	cat $cg/cgroup.subtree_control
	echo "---"

	check "only the unified hierarchy" [ "$(cat /proc/self/cgroup)" = "0::/" ]
	check "cgroup2 mounted on $cg" [ "$(stat -f -c %T $cg)" = cgroup2fs ]
	local c
	for c in cpu memory pids io cpuset; do
		check "controller $c available" grep -qw "$c" $cg/cgroup.controllers
		check "controller $c enabled for children" grep -qw "$c" $cg/cgroup.subtree_control
	done

	child=$cg/berth-selftest.$$
	check "create a child cgroup" mkdir "$child"
	check "set memory.max" sh -c "echo 64M > '$child/memory.max'"
	check "read memory.max back" [ "$(cat "$child/memory.max")" = 67108864 ]
	check "set pids.max" sh -c "echo 32 > '$child/pids.max'"
	check "set cpu.max" sh -c "echo '50000 100000' > '$child/cpu.max'"
	check "a process joins the child" \
		[ "$(sh -c "echo \$\$ > '$child/cgroup.procs'; cat /proc/self/cgroup")" = "0::/${child#"$cg"/}" ]
	check "remove the child cgroup" rmdir "$child"

	check "ip link add type veth" ip link add bvm-veth0 type veth peer name bvm-veth1
	check "both veth ends exist" quiet ip link show bvm-veth1
	check "delete the veth pair" ip link del bvm-veth0
	for c in veth bridge overlay nf_tables; do
		check "module $c loaded" [ -d "/sys/module/$c" ]
	done
	check "lo is up" sh -c "ip link show lo | grep -q UP"
	check "/ is read-only" sh -c "! touch /.berth-selftest 2>/dev/null"
	check "/tmp is writable" sh -c "touch /tmp/x && rm /tmp/x"
	check "/run is writable" sh -c "touch /run/x && rm /run/x"
	[ "$failed" = 0 ]
}

if [ "${1:-}" = --guest ]; then
	[ "${BERTH_VM:-}" = 1 ] || { echo "--guest runs inside the VM only" >&2; exit 2; }
	guest
	exit
fi

# ------------------------------------------------------------- on the host
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "# cgroup v2 checks inside the VM"
t0=$(date +%s.%N)
rc=0
"$run" --timing "$0" --guest > "$tmp/guest.out" 2> "$tmp/guest.err" || rc=$?
t1=$(date +%s.%N)
sed 's/^/#   /' "$tmp/guest.out"
sed 's/^/#   stderr: /' "$tmp/guest.err"
check "guest checks pass (exit $rc)" [ "$rc" = 0 ]
check "guest output complete" grep -q "remove the child cgroup" "$tmp/guest.out"
echo "# guest run took $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"

# The remaining runs go at once: they also show that parallel runs do not
# collide.
echo "# exit status, streams, shares and timeout (in parallel)"
mkdir "$tmp/share"
"$run" sh -c 'exit 3' > /dev/null 2>&1 &
p_exit=$!
# shellcheck disable=SC2016  # expanded by the job's shell
"$run" --share "$tmp/share" sh -c 'echo out; echo err >&2; printf "%s\n" "$1" > "$2/file"' \
	job "a 'b' \$c" "$tmp/share" > "$tmp/io.out" 2> "$tmp/io.err" &
p_io=$!
tt0=$(date +%s)
"$run" --timeout 15 sleep 600 > "$tmp/to.out" 2> "$tmp/to.err" &
p_to=$!

rc=0
wait "$p_exit" || rc=$?
check "a job exiting 3 makes run.sh exit 3 (got $rc)" [ "$rc" = 3 ]

rc=0
wait "$p_io" || rc=$?
check "job with output exits 0 (got $rc)" [ "$rc" = 0 ]
check "stdout carries the job's stdout only" [ "$(cat "$tmp/io.out")" = out ]
check "stderr carries the job's stderr only" [ "$(cat "$tmp/io.err")" = err ]
check "arguments arrive intact, written to a --share" \
	[ "$(cat "$tmp/share/file" 2> /dev/null)" = "a 'b' \$c" ]

rc=0
wait "$p_to" || rc=$?
tt1=$(date +%s)
check "a job over its timeout makes run.sh exit 124 (got $rc)" [ "$rc" = 124 ]
check "the timeout is reported" grep -q "timed out" "$tmp/to.err"
check "the timeout is kept ($((tt1 - tt0)) s for 15 s)" [ $((tt1 - tt0)) -lt 30 ]
no_qemu() { ! pgrep -f "qemu-system-x86_64 .*$tmp" > /dev/null; }
check "no qemu left behind" no_qemu

echo "selftest: $passed passed, $failed failed"
[ "$failed" = 0 ]
