#!/bin/busybox sh
# /init of berth's test VM (built into the initramfs by tests/vm/run.sh).
#
# Stage "init" runs from the initramfs as pid 1: it mounts the host's root
# (virtio-9p, read-only) and switch_roots into it, running this same file
# again as stage "guest" (plain job mode) or handing over to the host's
# systemd (--systemd mode).  Stage "job" runs the job itself; in plain mode
# stage "guest" calls it directly, under systemd a unit does.
#
# busybox ash, not bash: the initramfs has nothing else.  Quoting rules are
# POSIX so that job.conf, written by run.sh, can be sourced here.
# shellcheck shell=sh
# job.conf exists only at run time and calls the bvm_* functions and sets the
# job's positional parameters, which shellcheck cannot see:
# shellcheck disable=SC1091,SC2317,SC2119,SC2120

set -u
stage=${1:-init}
vmdir=/run/berth-vm
scratch=$vmdir/scratch
bb=$vmdir/bin/busybox

say() { echo "berth-vm: $*" >&2; }

# With berth.trace on the kernel command line (run.sh --console), steps are
# logged with the kernel's timestamps, to see where boot time goes.
# Builtins only where it is cheap to avoid a fork: under TCG every process
# costs around 10 ms.
trace=""
mark() {
	if [ -z "$trace" ]; then
		trace=0
		read -r cmdline < /proc/cmdline
		case " $cmdline " in *" berth.trace "*) trace=1 ;; esac
	fi
	[ "$trace" = 0 ] || echo "berth-vm: $*" > /dev/kmsg
}

# qemu runs with -no-reboot, so a reboot ends it; unlike a power-off that
# needs no ACPI and no firmware help.  sysrq first: a builtin echo, no fork.
end_vm() {
	sync
	echo b > /proc/sysrq-trigger
	reboot -f
	exit 1
}

# A failure before the job started must still end the VM promptly and tell
# run.sh why, so it does not sit out its whole timeout.
die() {
	say "$*"
	if [ -d "$scratch" ]; then
		echo "$*" >> "$scratch/error" 2>/dev/null
	fi
	end_vm
}

# Controllers are enabled one by one: a single "+a +b" write fails as a whole
# if the kernel lacks any of them.
enable_controllers() {
	read -r controllers < /sys/fs/cgroup/cgroup.controllers
	for c in $controllers; do
		echo "+$c" > /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null ||
			say "cannot enable cgroup controller $c"
	done
}

# job.conf calls these; each stage redefines the ones it cares about before
# sourcing it.
bvm_mode() { :; }
bvm_cwd() { :; }
bvm_share() { :; }

# ---------------------------------------------------------------- stage init
# The lists are in load order (run.sh resolved the dependencies): busybox
# insmod resolves none.
load_modules() {
	while read -r m; do
		insmod "/lib/modules/$m.ko" || say "insmod $m failed"
	done < "$1"
}

net_modules_wait() {
	[ -n "${netpid:-}" ] || return 0
	wait "$netpid"
	netpid=""
	mark "network modules loaded"
}

stage_init() {
	export PATH=/bin
	# Where die() leaves its message until the share moves to its place.
	scratch=/scratch
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev
	mark "init started"

	# On the other vCPU, while this one sets up the root.
	load_modules /etc/net-modules &
	netpid=$!
	load_modules /etc/boot-modules
	mark "boot modules loaded"

	mkdir -p /scratch /newroot
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=mmap \
		berthscratch /scratch || die "cannot mount the scratch share"
	[ -r /scratch/job.conf ] || die "job.conf missing from the scratch share"
	mode=job
	bvm_mode() { mode=$1; }
	. /scratch/job.conf

	# cache=loose: nothing writes the root during a run (the guest cannot,
	# the host is not expected to), so metadata and pages are cached without
	# revalidation; it is what makes exec'ing host binaries over 9p fast.
	rootopts=trans=virtio,version=9p2000.L,msize=512000,cache=loose,ro
	if [ "$mode" = systemd ]; then
		# systemd wants a writable /etc and /var; an overlay with a tmpfs
		# upper gives it one without touching the host.
		mkdir -p /lower /rw
		mount -t 9p -o "$rootopts" hostroot /lower ||
			die "cannot mount the host root"
		net_modules_wait
		mount -t tmpfs -o mode=755 rw /rw
		mkdir -p /rw/upper /rw/work
		mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work \
			overlay /newroot || die "cannot mount the overlay root"
	else
		mount -t 9p -o "$rootopts" hostroot /newroot ||
			die "cannot mount the host root"
	fi

	mount -t tmpfs -o mode=755,nosuid,nodev tmpfs /newroot/run
	mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /newroot/tmp
	mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /newroot/var/tmp
	mkdir -p "/newroot$vmdir/scratch"
	# The applet links are relative, so the copy works in the new root.
	cp -a /bin "/newroot$vmdir/bin"
	cp /init "/newroot$vmdir/init"
	net_modules_wait
	mark "switching root"
	mount --move /scratch "/newroot$vmdir/scratch"
	scratch=/newroot$vmdir/scratch
	mount --move /proc /newroot/proc
	mount --move /sys /newroot/sys
	mount --move /dev /newroot/dev

	if [ "$mode" = systemd ]; then
		systemd_unit
		# The host's root may carry /.dockerenv; an empty $container tells
		# systemd it is not in a container, so it honours the kernel
		# command line (systemd.unit=) and runs as on real hardware.
		export container=
		exec switch_root /newroot /lib/systemd/systemd
	fi
	exec switch_root /newroot "$bb" sh "$vmdir/init" guest
}

# The unit runs stage "job", which ends the VM itself; the *Action= settings
# only matter if it dies before it gets there.
systemd_unit() {
	mkdir -p /newroot/run/systemd/system
	cat > /newroot/run/systemd/system/berth-vm-job.service <<EOF
[Unit]
Description=berth test VM job
Wants=basic.target
After=basic.target
SuccessAction=reboot-force
FailureAction=reboot-force

[Service]
Type=oneshot
ExecStart=$bb sh $vmdir/init job
StandardInput=null
StandardOutput=journal+console
StandardError=journal+console
EOF
}

# --------------------------------------------------------------- stage guest
# The mounts every host with systemd has, so the job sees a normal system.
base_mounts() {
	mkdir -p /dev/pts /dev/shm /dev/mqueue
	mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts /dev/pts
	ln -sf pts/ptmx /dev/ptmx
	mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
	mount -t mqueue mqueue /dev/mqueue 2>/dev/null
	ln -sf /proc/self/fd /dev/fd
	ln -sf /proc/self/fd/0 /dev/stdin
	ln -sf /proc/self/fd/1 /dev/stdout
	ln -sf /proc/self/fd/2 /dev/stderr
	# The options systemd uses, so cgroup semantics match a typical host.
	mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup 2>/dev/null ||
		mount -t cgroup2 cgroup2 /sys/fs/cgroup || die "cannot mount cgroup2"
	enable_controllers
	hostname berth-vm
	ip link set lo up
}

stage_guest() {
	export PATH="$vmdir/bin"
	mark "root switched"
	base_mounts
	mark "base mounts done"
	stage_job
}

# The job's extra shares.
mount_shares() {
	bvm_share() {
		opts=trans=virtio,version=9p2000.L,msize=512000,cache=mmap
		[ "$2" = ro ] && opts=$opts,ro
		mkdir -p "$3" 2>/dev/null
		mount -t 9p -o "$opts" "$1" "$3" || die "cannot mount share $3"
	}
	. "$scratch/job.conf"
	bvm_share() { :; }
}

# ----------------------------------------------------------------- stage job
# Sets out, err and ctl to the device nodes of the ports run.sh named.
find_ports() {
	out="" err="" ctl=""
	for n in /sys/class/virtio-ports/*/name; do
		[ -r "$n" ] || continue
		read -r name < "$n"
		d=${n%/name}
		case $name in
			berth.stdout) out=/dev/${d##*/} ;;
			berth.stderr) err=/dev/${d##*/} ;;
			berth.ctl) ctl=/dev/${d##*/} ;;
		esac
	done
	[ -n "$out" ] && [ -n "$err" ] && [ -n "$ctl" ]
}

stage_job() {
	PATH=$vmdir/bin
	mount_shares
	# Ports are announced asynchronously after the driver binds.
	i=0
	while ! find_ports; do
		i=$((i + 1))
		[ "$i" -lt 500 ] || die "virtio-serial ports did not appear"
		usleep 10000
	done

	# job.conf ends with "set -- NAME=VALUE... COMMAND ARGS...", which sets
	# this function's positional parameters: env's argv.
	cwd=/
	bvm_cwd() { cwd=$1; }
	. "$scratch/job.conf"
	# The job runs from the invoking directory or not at all: running it
	# somewhere else would silently change what relative paths mean.
	cd "$cwd" || die "cannot enter $cwd"

	# The limits systemd gives services, rather than the kernel's 1024:4096.
	# shellcheck disable=SC3045  # busybox ash has -S and -H
	ulimit -Hn 524288
	# shellcheck disable=SC3045
	ulimit -Sn 1024
	mark "job starting"
	echo start > "$ctl"
	# env -i: the job sees a small, predictable environment, not pid 1's.
	# The host's env, by path: this busybox prefers its own applets to
	# programs on $PATH, so its env would run "sh" or "ps" as applets.
	hostenv=/usr/bin/env
	[ -x "$hostenv" ] || hostenv=/bin/env
	"$hostenv" -i HOME=/root USER=root LOGNAME=root SHELL=/bin/sh LANG=C.UTF-8 \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		BERTH_VM=1 "$@" < /dev/null > "$out" 2> "$err"
	status=$?
	# run.sh reads it after qemu has exited, so no need for a rename.
	echo "$status" > "$scratch/status"
	mark "job done"
	end_vm
}

case $stage in
	init) stage_init ;;
	guest) stage_guest ;;
	job) stage_job ;;
	*) die "unknown stage $stage" ;;
esac
