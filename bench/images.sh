#!/bin/bash
# images.sh BERTH [MIB] [LAYERS]: import+unpack time of a multi-layer image against tar -x of
# the same layers, and the start-up cost of `run --image` over `run` of a prepared bundle.
# Prints "name seconds" lines (median of 5; runs: of 9). Needs root, python3, jq, bc and the
# default image built next to BERTH (images/default-image.tar). bench/run.sh calls it.
set -euo pipefail
berth=$(realpath "$1")
mib=${2:-100}
layers=${3:-4}
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /var/tmp/berth-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
export BERTH_IMAGE_ROOT=$work/store

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }
elapsed() { echo "$(now) - $1" | bc; }

python3 "$src/tests/images/oci.py" big "$work/img" "$mib" "$layers" >/dev/null
blobs=$(jq -r '.layers[].digest' "$work/img/blobs/sha256/$(jq -r '.manifests[0].digest' "$work/img/index.json" | cut -d: -f2)" | cut -d: -f2)
for b in $blobs; do zcat "$work/img/blobs/sha256/$b" >"$work/plain-$b.tar"; done
python3 "$src/tests/images/oci.py" layout "$work/plain" "$work"/plain-*.tar >/dev/null

for kind in gzip plain; do
    dir=$work/img
    [ $kind = plain ] && dir=$work/plain
    for i in 1 2 3 4 5; do
        rm -rf "$BERTH_IMAGE_ROOT" "$work/x"
        sync; t=$(now); "$berth" image import "$dir" b >/dev/null; elapsed "$t"
    done | median | sed "s/^/import-$kind /"
    for i in 1 2 3 4 5; do
        rm -rf "$work/x"; mkdir -p "$work/x"
        sync; t=$(now)
        for b in $blobs; do
            if [ $kind = gzip ]; then tar -xzf "$work/img/blobs/sha256/$b" -C "$work/x"
            else tar -xf "$work/plain-$b.tar" -C "$work/x"; fi
        done
        elapsed "$t"
    done | median | sed "s/^/tar-x-$kind /"
done

# start-up: the same busybox rootfs as a prepared bundle and as an image
"$berth" image import "$(dirname "$berth")/images/default-image.tar" default >/dev/null
mkdir -p "$work/bundle/rootfs"
m=$(tar -xOf "$(dirname "$berth")/images/default-image.tar" ./index.json | jq -r '.manifests[0].digest' | cut -d: -f2)
l=$(tar -xOf "$(dirname "$berth")/images/default-image.tar" "./blobs/sha256/$m" | jq -r '.layers[0].digest' | cut -d: -f2)
tar -xOf "$(dirname "$berth")/images/default-image.tar" "./blobs/sha256/$l" | tar -xz -C "$work/bundle/rootfs"
(cd "$work/bundle" && "$berth" spec && jq '.process.terminal=false | .process.args=["true"]' config.json >c && mv c config.json)
for i in $(seq 9); do t=$(now); "$berth" --root "$work/run" run -b "$work/bundle" "b$i" >/dev/null; elapsed "$t"; done |
    median | sed 's/^/run-bundle /'
for i in $(seq 9); do t=$(now); "$berth" --root "$work/run" run --image default --rm "i$i" true >/dev/null; elapsed "$t"; done |
    median | sed 's/^/run-image /'
