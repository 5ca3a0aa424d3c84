#!/bin/sh
# mkdefault.sh OUT.tar BUSYBOX TESTHELPER
#
# Build berth's built-in "default" image as an OCI layout tar: one layer with a static
# busybox (its applets as symlinks in /bin), the static berth-testhelper, and /etc files
# with a root and a non-root user. Reproducible: fixed mtimes, owners and member order,
# so the same inputs give the same digests.
set -eu

die() {
    echo "mkdefault.sh: $*" >&2
    exit 1
}

[ $# -eq 3 ] || die "usage: mkdefault.sh OUT.tar BUSYBOX TESTHELPER"
out=$1
busybox=$2
helper=$3
[ -x "$busybox" ] || die "$busybox not found: install busybox-static (tests/install-deps.sh --build)"
if LC_ALL=C readelf -l "$busybox" 2>/dev/null | grep -q 'Requesting program interpreter'; then
    die "$busybox is dynamically linked: install busybox-static instead of busybox"
fi
[ -x "$helper" ] || die "$helper not found: build it first"

work=$(mktemp -d "${TMPDIR:-/tmp}/berth-default.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
layout=$work/layout
mkdir -p "$root" "$layout/blobs/sha256"

for d in bin etc proc sys dev tmp root home/user run var var/tmp; do
    mkdir -p "$root/$d"
done
chmod 0755 "$root" "$root/bin" "$root/etc" "$root/home" "$root/run" "$root/var"
chmod 1777 "$root/tmp" "$root/var/tmp"
chmod 0700 "$root/root"
cp "$busybox" "$root/bin/busybox"
cp "$helper" "$root/bin/berth-testhelper"
chmod 0755 "$root/bin/busybox" "$root/bin/berth-testhelper"
for applet in $("$root/bin/busybox" --list); do
    case $applet in busybox | */*) continue ;; esac
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
printf '%s\n' "root:x:0:0:root:/root:/bin/sh" "user:x:1000:1000:user:/home/user:/bin/sh" \
    "nobody:x:65534:65534:nobody:/nonexistent:/bin/false" >"$root/etc/passwd"
printf '%s\n' "root:x:0:" "tty:x:5:" "user:x:1000:" "nogroup:x:65534:" >"$root/etc/group"
chmod 0644 "$root/etc/passwd" "$root/etc/group"

reprotar() { # DIR OUT
    (cd "$1" && tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
        --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
        -cf "$2" .)
}
reprotar "$root" "$work/layer.tar"
diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
gzip -n -9 "$work/layer.tar"
layer=$(sha256sum "$work/layer.tar.gz" | cut -d' ' -f1)
layer_size=$(stat -c %s "$work/layer.tar.gz")
mv "$work/layer.tar.gz" "$layout/blobs/sha256/$layer"

case $(uname -m) in
x86_64) arch=amd64 ;;
aarch64) arch=arm64 ;;
*) arch=$(uname -m) ;;
esac

printf '%s' "{\"architecture\":\"$arch\",\"os\":\"linux\",\"created\":\"1970-01-01T00:00:00Z\",\"config\":{\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],\"Cmd\":[\"/bin/sh\"],\"WorkingDir\":\"/\",\"Labels\":{\"org.opencontainers.image.title\":\"berth default\",\"org.opencontainers.image.description\":\"busybox and berth-testhelper, built into berth\"}},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$diff_id\"]},\"history\":[{\"created\":\"1970-01-01T00:00:00Z\",\"created_by\":\"images/mkdefault.sh\"}]}" >"$work/config.json"
config=$(sha256sum "$work/config.json" | cut -d' ' -f1)
config_size=$(stat -c %s "$work/config.json")
mv "$work/config.json" "$layout/blobs/sha256/$config"

printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$config\",\"size\":$config_size},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$layer\",\"size\":$layer_size}]}" >"$work/manifest.json"
manifest=$(sha256sum "$work/manifest.json" | cut -d' ' -f1)
manifest_size=$(stat -c %s "$work/manifest.json")
mv "$work/manifest.json" "$layout/blobs/sha256/$manifest"

printf '%s\n' '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
printf '%s\n' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:$manifest\",\"size\":$manifest_size,\"annotations\":{\"org.opencontainers.image.ref.name\":\"default:latest\"}}]}" >"$layout/index.json"

reprotar "$layout" "$work/out.tar"
mv "$work/out.tar" "$out"
