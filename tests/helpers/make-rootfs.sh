#!/bin/bash
# make-rootfs.sh DIR [TESTHELPER]
#
# Build the minimal rootfs template the integration tests copy into each bundle: static
# busybox with its applets in /bin, berth-testhelper, the usual top-level directories, and
# /etc/passwd, /etc/group, /etc/hostname with a root and a non-root user.
#
#   TESTHELPER  path to the built berth-testhelper (default: $BERTH_TESTHELPER)
#   BUSYBOX     busybox binary to install (default: /bin/busybox from busybox-static)
#
# Safe to run again on an existing template: only what is missing or changed is redone.
set -euo pipefail

die() {
    echo "make-rootfs.sh: $*" >&2
    exit 1
}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    die "usage: make-rootfs.sh DIR [TESTHELPER]"
fi
dir=$1
helper=${2:-${BERTH_TESTHELPER:-}}
busybox=${BUSYBOX:-/bin/busybox}

[ -n "$dir" ] || die "refusing an empty DIR"
mkdir -p -- "$dir"
dir=$(realpath -- "$dir")
# Everything below writes into DIR as root; a typo must not land in the host's /.
[ "$dir" != / ] || die "refusing to build a rootfs in /"

[ -n "$helper" ] || die "no berth-testhelper given (second argument or BERTH_TESTHELPER)"
[ -x "$helper" ] || die "berth-testhelper not found or not executable: $helper"
[ -x "$busybox" ] || die "$busybox not found; install busybox-static (tests/install-deps.sh)"
# The rootfs has no libc, so a dynamically linked busybox (package busybox) cannot run there.
if LC_ALL=C readelf -l "$busybox" 2>/dev/null | grep -q 'Requesting program interpreter'; then
    die "$busybox is dynamically linked; install busybox-static instead of busybox"
fi

for d in bin proc sys dev tmp etc root home/user run var var/tmp; do
    [ -d "$dir/$d" ] || mkdir -p "$dir/$d"
done
chmod 0755 "$dir" "$dir/bin" "$dir/etc" "$dir/home" "$dir/run" "$dir/var"
chmod 1777 "$dir/tmp" "$dir/var/tmp"
chmod 0700 "$dir/root"
chown 1000:1000 "$dir/home/user" 2>/dev/null || true

# cmp keeps reruns cheap and leaves the template untouched when nothing changed.
install_file() { # SRC DEST
    if ! cmp -s -- "$1" "$2"; then
        cp -- "$1" "$2.tmp.$$"
        chmod 0755 "$2.tmp.$$"
        mv -f -- "$2.tmp.$$" "$2"
    fi
}
install_file "$busybox" "$dir/bin/busybox"
install_file "$helper" "$dir/bin/berth-testhelper"

missing=()
while read -r applet; do
    case $applet in
    "" | busybox | */*) continue ;;
    esac
    [ -L "$dir/bin/$applet" ] || [ -e "$dir/bin/$applet" ] || missing+=("$applet")
done < <("$dir/bin/busybox" --list)
for applet in "${missing[@]}"; do
    ln -s busybox "$dir/bin/$applet"
done

write_file() { # DEST CONTENT
    if [ ! -f "$1" ] || [ "$(cat -- "$1")" != "$2" ]; then
        printf '%s\n' "$2" >"$1.tmp.$$"
        chmod 0644 "$1.tmp.$$"
        mv -f -- "$1.tmp.$$" "$1"
    fi
}
write_file "$dir/etc/passwd" "root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false"
write_file "$dir/etc/group" "root:x:0:
tty:x:5:
user:x:1000:
extra:x:2000:user
nogroup:x:65534:"
write_file "$dir/etc/hostname" "berth-test"
