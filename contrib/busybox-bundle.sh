#!/bin/sh
# Make an OCI bundle from Debian's busybox-static: contrib/busybox-bundle.sh DIR [BERTH]
# DIR/rootfs gets busybox and its applets; DIR/config.json is `berth spec` with no terminal,
# a writable root and a command that shows the container's view of itself.
set -eu
dir=${1:?usage: busybox-bundle.sh DIR [BERTH]}
berth=${2:-berth}
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "busybox-bundle: $busybox missing: apt-get install busybox-static" >&2; exit 1; }
case $dir in /|"") echo "busybox-bundle: refusing DIR \"$dir\"" >&2; exit 1 ;; esac

mkdir -p "$dir/rootfs/bin" "$dir/rootfs/etc"
for d in proc sys dev tmp root run; do mkdir -p "$dir/rootfs/$d"; done
cp "$busybox" "$dir/rootfs/bin/busybox"
for applet in $("$busybox" --list); do
    [ -e "$dir/rootfs/bin/$applet" ] || ln -s busybox "$dir/rootfs/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$dir/rootfs/etc/passwd"
printf 'root:x:0:\n' >"$dir/rootfs/etc/group"

rm -f "$dir/config.json"
"$berth" spec --bundle "$dir"
jq '.process.terminal = false
    | .root.readonly = false
    | .process.args = ["sh", "-c",
        "echo \"hello from $(hostname), pid $$ in its own namespaces\"; ip -o link | cut -d: -f2; grep -E \"^(CapEff|Seccomp|NoNewPrivs)\" /proc/self/status"]' \
    "$dir/config.json" >"$dir/config.json.new"
mv "$dir/config.json.new" "$dir/config.json"
echo "bundle ready: $dir"
