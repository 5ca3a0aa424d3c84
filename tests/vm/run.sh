#!/usr/bin/env bash
# Run a job as root in a throwaway qemu VM whose kernel has a pure cgroup v2
# hierarchy.  The host's / is the guest's read-only root (virtio-9p), so the
# job runs the host's binaries from the directory run.sh was started in.
# See tests/vm/README.md.
set -euo pipefail

prog=tests/vm/run.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)

usage() {
	cat <<EOF
usage: $prog [OPTIONS] SCRIPT [ARGS...]

Boot a qemu VM (Debian kernel, pure cgroup v2, host / shared read-only) and
run SCRIPT ARGS... in it as root from the current directory.  The job's
stdout and stderr stream to ours; our exit status is the job's.

  --timeout SECONDS  kill the VM after this long and exit 124 (default 600)
  --mem MiB          guest memory (default 2048)
  --cpus N           guest vCPUs (default 2)
  --share HOSTDIR    writable share at the same path in the guest (repeatable;
                     created if missing)
  --env NAME=VALUE   put NAME=VALUE in the job's environment (repeatable)
  --systemd          boot the host's systemd as pid 1 and run the job from a
                     unit (slower; see README)
  --console          copy the guest's kernel console to stderr
  --timing           report boot and job times on stderr

Exit status: the job's; 124 on timeout; 125 if the VM itself failed.
Environment: BERTH_VM_KERNEL (kernel version to boot), BERTH_VM_CACHE
(initramfs cache directory), BERTH_VM_APPEND (extra kernel parameters).
EOF
}

fail() {
	echo "$prog: $*" >&2
	exit 125
}

timeout_s=600
mem=2048
cpus=2
mode=job
console=0
timing=0
shares=()
envs=()
while [ $# -gt 0 ]; do
	case $1 in
		--timeout) timeout_s=${2:?}; shift 2 ;;
		--mem) mem=${2:?}; shift 2 ;;
		--cpus) cpus=${2:?}; shift 2 ;;
		--share) shares+=("${2:?}"); shift 2 ;;
		--env) envs+=("${2:?}"); shift 2 ;;
		--systemd) mode=systemd; shift ;;
		--console) console=1; shift ;;
		--timing) timing=1; shift ;;
		-h | --help) usage; exit 0 ;;
		--) shift; break ;;
		-*) usage >&2; fail "unknown option $1" ;;
		*) break ;;
	esac
done
[ $# -gt 0 ] || { usage >&2; fail "no SCRIPT given"; }
for n in "$timeout_s" "$mem" "$cpus"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || fail "not a positive number: $n"
done
for e in "${envs[@]}"; do
	[[ $e =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || fail "--env wants NAME=VALUE, got: $e"
done

# Everything a run leaves is removed on any exit: its temporary directory,
# a half-built image, qemu and the processes copying its output.
tmp=""
builddir=""
qpid=""
readers=()
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
	local rc=$?
	if [ -n "$qpid" ]; then
		kill "$qpid" 2> /dev/null || true
		wait "$qpid" 2> /dev/null || true
	fi
	if [ ${#readers[@]} -gt 0 ]; then
		kill "${readers[@]}" 2> /dev/null || true
		wait "${readers[@]}" 2> /dev/null || true
	fi
	[ -z "$tmp" ] || rm -rf "$tmp"
	[ -z "$builddir" ] || rm -rf "$builddir" "$builddir.cpio"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------ prerequisites
# passthrough 9p needs root on the host to expose owners and modes as they
# are, and the guest job runs as root on that view.
[ "$(id -u)" = 0 ] || fail "must run as root"

missing=()
command -v qemu-system-x86_64 > /dev/null || missing+=(qemu-system-x86)
command -v cpio > /dev/null || missing+=(cpio)
busybox=""
for b in /bin/busybox /usr/bin/busybox; do
	[ -x "$b" ] && { busybox=$b; break; }
done
# The initramfs has no libc: only a static busybox runs there.
if [ -z "$busybox" ] || ldd "$busybox" > /dev/null 2>&1; then
	missing+=(busybox-static)
fi

# The newest installed kernel that has its modules; the host's running kernel
# need not be one of them.
kver=${BERTH_VM_KERNEL:-}
if [ -z "$kver" ]; then
	while read -r k; do
		if [ -f "/boot/vmlinuz-$k" ] && [ -f "/lib/modules/$k/modules.dep" ]; then
			kver=$k
			break
		fi
	done < <(printf '%s\n' /boot/vmlinuz-* | sed 's|^/boot/vmlinuz-||' | sort -rV)
fi
if [ -z "$kver" ] || [ ! -f "/boot/vmlinuz-$kver" ] || [ ! -f "/lib/modules/$kver/modules.dep" ]; then
	missing+=(linux-image-amd64)
fi
if [ ${#missing[@]} -gt 0 ]; then
	fail "missing packages; run: apt-get install -y ${missing[*]}"
fi
kernel=/boot/vmlinuz-$kver
[ -r "$kernel" ] || fail "$kernel is not readable"

# --------------------------------------------------------------- initramfs
# What the guest needs to mount its root (loaded in this order, each one's own
# dependencies first), plus virtio_console for the job's output.
boot_modules=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev
	virtio_pci netfs fscache 9pnet 9pnet_virtio 9p virtio_console)
# What the tests use.  They are loaded from the initramfs as well, not with
# modprobe from the 9p root: that way they load on the second vCPU while the
# first one sets up the root, instead of adding a second or more before the
# job can start.
net_modules=(veth bridge overlay nf_tables nft_masq nft_nat nft_chain_nat
	ifb sch_htb sch_tbf act_mirred cls_u32)

# kmod comes with every Debian kernel package.  Its --show-depends resolves
# dependencies and softdeps the way modprobe would; modules built into the
# kernel or absent from it print no insmod line and are skipped.
modprobe=$(PATH=$PATH:/usr/sbin:/sbin command -v modprobe) ||
	fail "missing packages; run: apt-get install -y kmod"
declare -A mod_seen=()
# Prints "NAME PATH" lines in load order, each module once.
mod_list() {
	local m p
	for m in "$@"; do
		"$modprobe" -S "$kver" --show-depends "$m" 2> /dev/null | while read -r w p _; do
			[ "$w" = insmod ] && echo "$p"
		done
	done | while read -r p; do
		m=${p##*/}
		m=${m%%.ko*}
		echo "$m $p"
	done
}
mapfile -t boot_list < <(mod_list "${boot_modules[@]}")
mapfile -t net_list < <(mod_list "${net_modules[@]}")

cache=${BERTH_VM_CACHE:-}
if [ -z "$cache" ]; then
	if [ -n "${XDG_CACHE_HOME:-}" ]; then
		cache=$XDG_CACHE_HOME/berth-vm
	else
		cache=/var/cache/berth-vm
	fi
fi
mkdir -p "$cache"

# Everything the image is made of goes into its name, so a new kernel build,
# init script or busybox gets a new image and an old one is never reused.
key=$({
	echo "$kver"
	printf '%s\n' "${boot_list[@]}" -- "${net_list[@]}"
	stat -c '%s %Y' "$kernel" "/lib/modules/$kver/modules.dep"
	cat "$here/init.sh" "$busybox" "${BASH_SOURCE[0]}"
} | sha256sum | cut -c1-16)
initrd=$cache/initramfs-$kver-$key.cpio

# Writes module file $1 to $2 uncompressed (busybox insmod takes nothing
# else) and without its signature: checking the signatures of 30 modules costs
# over half a second under TCG, and the kernel does not insist on them (it
# notes an unsigned module in its taint flags).
put_module() {
	local magic='~Module signature appended~' size siglen
	case $1 in
		*.ko) cp "$1" "$2" ;;
		*.ko.xz) xz -dc "$1" > "$2" ;;
		*.ko.zst) zstd -qdc "$1" > "$2" ;;
		*.ko.gz) gzip -dc "$1" > "$2" ;;
		*) fail "cannot unpack module $1" ;;
	esac
	# Layout: module, signature, 12-byte struct module_signature whose last 4
	# bytes are the signature's length (big-endian), magic string, newline.
	[ "$(tail -c 28 "$2" | head -c 27)" = "$magic" ] || return 0
	size=$(stat -c %s "$2")
	siglen=$(tail -c 32 "$2" | head -c 4 | od -An -tu1 | awk '{ print (($1 * 256 + $2) * 256 + $3) * 256 + $4 }')
	truncate -s $((size - 28 - 12 - siglen)) "$2"
}

build_initrd() {
	local b l m p a list
	builddir=$(mktemp -d "$cache/build.XXXXXX")
	b=$builddir
	mkdir -p "$b"/{bin,dev,etc,proc,sys,newroot,scratch,lib/modules}
	cp "$busybox" "$b/bin/busybox"
	# Relative links keep working when /init copies bin/ into the new root.
	for a in $("$busybox" --list); do
		[ "$a" = busybox ] || ln -s busybox "$b/bin/$a"
	done
	install -m 755 "$here/init.sh" "$b/init"
	# Without a console node the kernel starts /init with no stdio.
	mknod -m 600 "$b/dev/console" c 5 1
	: > "$b/etc/boot-modules"
	: > "$b/etc/net-modules"
	for l in "${boot_list[@]/#/boot }" "${net_list[@]/#/net }"; do
		read -r list m p <<< "$l"
		[ -z "${mod_seen[$m]:-}" ] || continue
		mod_seen[$m]=1
		put_module "$p" "$b/lib/modules/$m.ko"
		echo "$m" >> "$b/etc/$list-modules"
	done
	# Uncompressed: unpacking a compressed image costs more under TCG than
	# loading the larger one.
	(cd "$b" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) > "$b.cpio"
	# rename(2) is atomic: a concurrent run sees no image or a whole one.
	mv -f "$b.cpio" "$initrd"
	rm -rf "$b"
	builddir=""
}
# Each change to the inputs leaves an image behind; the five most recently
# used are kept, so runs from a few checkouts at once don't rebuild each
# other's.
if [ -f "$initrd" ]; then
	touch "$initrd"
else
	build_initrd
	find "$cache" -maxdepth 1 -name 'initramfs-*.cpio' -printf '%T@ %p\n' |
		sort -rn | tail -n +6 | cut -d' ' -f2- | xargs -r rm -f
fi

# The bzImage decompresses itself, which under TCG takes longer than all of
# the rest of the boot; qemu boots the uncompressed ELF directly through its
# PVH entry point.  Extracted once per kernel build and cached.
vmlinux=$cache/vmlinux-$kver-$(stat -c '%s-%Y' "$kernel")
extract_vmlinux() {
	local off magic tool out
	out=$(mktemp "$cache/vmlinux.XXXXXX")
	builddir=$out
	for magic in $'\xfd7zXZ' $'\x28\xb5\x2f\xfd' $'\x1f\x8b\x08'; do
		case $magic in
			$'\xfd7zXZ') tool="xz -dc --single-stream" ;;
			$'\x1f\x8b\x08') tool="gzip -dc" ;;
			*) tool="zstd -qdc" ;;
		esac
		while read -r off; do
			# shellcheck disable=SC2086
			tail -c +"$((off + 1))" "$kernel" | $tool > "$out" 2> /dev/null || true
			if [ "$(head -c 4 "$out")" = $'\x7fELF' ]; then
				chmod 644 "$out"
				mv -f "$out" "$vmlinux"
				builddir=""
				return 0
			fi
		done < <(LC_ALL=C grep -abo "$magic" "$kernel" | cut -d: -f1)
	done
	return 1
}
if [ ! -f "$vmlinux" ] && grep -q '^CONFIG_PVH=y' "/boot/config-$kver" 2> /dev/null; then
	extract_vmlinux || true
	find "$cache" -maxdepth 1 -name "vmlinux-*" ! -name "${vmlinux##*/}" -mtime +7 -delete
fi
if [ -f "$vmlinux" ]; then
	kernel=$vmlinux
else
	echo "$prog: warning: no PVH kernel image; booting $kernel, which is slow under TCG" >&2
fi

# ---------------------------------------------------------------- the job
cwd=$(pwd -P) || fail "cannot resolve the working directory"

q() {
	local s=${1//\'/\'\\\'\'}
	printf "'%s'" "$s"
}

# The guest mounts tmpfs on these, hiding the host's contents.
shadowed() {
	case $1/ in
		/tmp/* | /run/* | /var/tmp/* | /dev/shm/*) return 0 ;;
	esac
	return 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/berth-vm.XXXXXX")
mkdir "$tmp/scratch"

# Shares: host directory -> ro|rw.  A directory under one of the guest's
# tmpfs mounts would be empty there, so the script's directory and the
# working directory are shared read-only when they live there.
declare -A share_mode=()
for s in ${shares[@]+"${shares[@]}"}; do
	mkdir -p "$s"
	d=$(cd "$s" && pwd -P)
	[ "$d" != / ] || fail "cannot share / writable"
	share_mode[$d]=rw
done
covered() {
	local d
	shadowed "$1" || return 0
	for d in "${!share_mode[@]}"; do
		case $1/ in "$d"/*) return 0 ;; esac
	done
	return 1
}
script=$1
if [[ $script == */* ]]; then
	[ -e "$script" ] || fail "no such file: $script"
	sdir=$(cd "$(dirname "$script")" && pwd -P)
	covered "$sdir" || share_mode[$sdir]=ro
fi
case $cwd in
	/tmp | /run | /var/tmp | /dev/shm) fail "cannot run from $cwd: the guest mounts its own tmpfs there" ;;
esac
covered "$cwd" || share_mode[$cwd]=ro

for d in "${!share_mode[@]}"; do
	[[ $d != *$'\n'* ]] || fail "a share path cannot contain a newline"
done
conf=("bvm_mode $mode" "bvm_cwd $(q "$cwd")")
share_args=()
n=0
# Parents before children, so nested shares stack the right way round.
while IFS= read -r d; do
	n=$((n + 1))
	ro=""
	[ "${share_mode[$d]}" = rw ] || ro=,readonly=on
	# qemu's option syntax escapes a comma by doubling it.
	share_args+=(-fsdev "local,id=share$n,path=${d//,/,,},security_model=passthrough,multidevs=remap$ro"
		-device "virtio-9p-pci,fsdev=share$n,mount_tag=berthshare$n")
	conf+=("bvm_share berthshare$n ${share_mode[$d]} $(q "$d")")
done < <(for d in "${!share_mode[@]}"; do
	printf '%s\t%s\n' "${#d}" "$d"
done | sort -n | cut -f2-)

argv="set --"
for a in ${envs[@]+"${envs[@]}"} "$@"; do
	argv+=" $(q "$a")"
done
conf+=("$argv")
printf '%s\n' "${conf[@]}" > "$tmp/scratch/job.conf"

# ------------------------------------------------------------------- qemu
# The job's output travels over virtio-serial ports into FIFOs that we copy
# to our stdout/stderr as it arrives; the kernel console goes to a log, so
# kernel messages never mix with the job's output.
mkfifo "$tmp/stdout" "$tmp/stderr" "$tmp/ctl" "$tmp/console"
cat "$tmp/stdout" &
readers+=($!)
cat "$tmp/stderr" >&2 &
readers+=($!)
# The guest says "start" here when the job starts; stamped for --timing.
while IFS= read -r line; do
	echo "$(date +%s.%N) $line"
done < "$tmp/ctl" > "$tmp/ctl.log" &
readers+=($!)
if [ "$console" = 1 ]; then
	tee "$tmp/console.log" < "$tmp/console" >&2 &
else
	cat "$tmp/console" > "$tmp/console.log" &
fi
readers+=($!)

# Each of these takes a noticeable share of a TCG boot and is nothing a test
# needs: crypto self-tests, TSC and timer sanity checks (the TCG TSC is the
# host's), zeroing every allocation, the W+X scan, legacy device probing, and
# ACPI interrupt routing for PCI (the AML interpreter is slow under TCG).
# norandmaps: TCG caches translated code by virtual address, so processes
# mapping binaries and libraries at the same addresses reuse it; that makes
# every fork+exec several times cheaper.
append="console=ttyS0 panic=-1 mitigations=off cryptomgr.notests tsc=reliable"
append+=" no_timer_check init_on_alloc=0 rodata=off 8250.nr_uarts=1 i8042.noaux"
append+=" i8042.nokbd i8042.nopnp norandmaps pci=noacpi"
[ "$console" = 1 ] && append+=" berth.trace" || append+=" quiet"
append+=${BERTH_VM_APPEND:+ $BERTH_VM_APPEND}
if [ "$mode" = systemd ]; then
	# No fstab (the host's describes the host's disks) and no udev coldplug
	# (it probes every emulated device, for seconds, for nothing a test uses).
	append+=" systemd.unit=berth-vm-job.service fstab=no systemd.show_status=0"
	append+=" systemd.mask=systemd-udev-trigger.service"
	[ "$console" = 0 ] || append+=" systemd.journald.forward_to_console=1"
fi

t0=$(date +%s.%N)
# timeout(1) sends TERM and exits 124; qemu dies on TERM.
timeout --kill-after=5 "$timeout_s" qemu-system-x86_64 \
	-nodefaults -no-user-config -display none -no-reboot \
	-accel tcg,thread=multi -cpu max -machine pc \
	-m "$mem" -smp "$cpus" \
	-kernel "$kernel" -initrd "$initrd" -append "$append" \
	-chardev "file,id=console,path=$tmp/console" -serial chardev:console \
	-device virtio-serial-pci,id=vser \
	-chardev "file,id=out,path=$tmp/stdout" \
	-device virtserialport,bus=vser.0,chardev=out,name=berth.stdout \
	-chardev "file,id=err,path=$tmp/stderr" \
	-device virtserialport,bus=vser.0,chardev=err,name=berth.stderr \
	-chardev "file,id=ctl,path=$tmp/ctl" \
	-device virtserialport,bus=vser.0,chardev=ctl,name=berth.ctl \
	-fsdev local,id=root,path=/,security_model=passthrough,readonly=on,multidevs=remap \
	-device virtio-9p-pci,fsdev=root,mount_tag=hostroot \
	-fsdev "local,id=scratch,path=$tmp/scratch,security_model=passthrough" \
	-device virtio-9p-pci,fsdev=scratch,mount_tag=berthscratch \
	${share_args[@]+"${share_args[@]}"} \
	< /dev/null > "$tmp/qemu.log" 2>&1 &
qpid=$!
qrc=0
wait "$qpid" || qrc=$?
qpid=""
t1=$(date +%s.%N)

# A reader whose FIFO qemu never opened (qemu failed early) is still blocked
# in open(2); opening the other end and closing it hands it an EOF.
for f in stdout stderr ctl console; do
	exec {fd}<> "$tmp/$f"
	exec {fd}>&-
done
wait "${readers[@]}" || true
readers=()

if [ "$timing" = 1 ]; then
	awk -v t0="$t0" -v t1="$t1" '
		$2 == "start" { s = $1 }
		END {
			if (s) printf "%s: boot to job %.2f s, job %.2f s, total %.2f s\n", "'"$prog"'", s - t0, t1 - s, t1 - t0 > "/dev/stderr"
			else printf "%s: total %.2f s (job never started)\n", "'"$prog"'", t1 - t0 > "/dev/stderr"
		}' "$tmp/ctl.log"
fi

if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	echo "$prog: timed out after ${timeout_s}s; the VM was killed" >&2
	exit 124
fi
if [ -f "$tmp/scratch/status" ]; then
	exit "$(cat "$tmp/scratch/status")"
fi
{
	echo "$prog: the VM ended without a job status (qemu exit $qrc)"
	[ ! -s "$tmp/scratch/error" ] || sed 's/^/  guest: /' "$tmp/scratch/error"
	[ ! -s "$tmp/qemu.log" ] || sed 's/^/  qemu: /' "$tmp/qemu.log"
	[ ! -s "$tmp/console.log" ] || tail -n 40 "$tmp/console.log" | sed 's/^/  console: /'
} >&2
exit 125
