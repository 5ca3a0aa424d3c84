#!/usr/bin/env bats
# Images: import what skopeo and umoci make, run it, export it and read the export back with
# skopeo; `run --image` flags; whiteouts; rm/prune; the copy fallback; concurrent and killed
# imports. Every test has its own image store ($BERTH_IMAGE_ROOT) under its temp dir.

load helpers

OCI_PY=$BERTH_SRCDIR/tests/images/oci.py

setup_file() {
    require_tools_file
    local d=$BATS_FILE_TMPDIR/formats store=$BATS_FILE_TMPDIR/seed
    mkdir -p "$d"
    # the default image as an OCI archive, through berth's own export
    BERTH_IMAGE_ROOT=$store "$BERTH" image import "$(default_image)" >/dev/null
    BERTH_IMAGE_ROOT=$store "$BERTH" image export default "$d/default.tar"
    # and as skopeo writes each format
    skopeo copy -q oci-archive:"$d/default.tar" dir:"$d/dir"
    skopeo copy -q --format v2s2 oci-archive:"$d/default.tar" dir:"$d/dir-v2s2"
    skopeo copy -q oci-archive:"$d/default.tar" oci:"$d/oci:v1"
    skopeo copy -q oci-archive:"$d/default.tar" oci-archive:"$d/oci-archive.tar:v2"
    skopeo copy -q oci-archive:"$d/default.tar" docker-archive:"$d/docker.tar:example/dock:v3"
    rm -rf "$store"
}

require_tools_file() {
    command -v skopeo >/dev/null && command -v umoci >/dev/null && command -v python3 >/dev/null ||
        skip "needs skopeo, umoci and python3 (tests/install-deps.sh)"
    [ -f "$(default_image)" ] || skip "the default image is not built ($(default_image))"
}

default_image() {
    printf '%s\n' "${BERTH_DEFAULT_IMAGE:-$(dirname "$BERTH")/images/default-image.tar}"
}

setup() {
    require_root
    require_tools_file
    BERTH_TEST_DIR=$BATS_TEST_TMPDIR
    BERTH_ROOT=$BERTH_TEST_DIR/root
    BERTH_CID=t${BATS_SUITE_TEST_NUMBER}-$$
    export BERTH_IMAGE_ROOT=$BERTH_TEST_DIR/store
    FORMATS=$BATS_FILE_TMPDIR/formats
    mkdir -p "$BERTH_ROOT"
}

teardown() {
    berth_teardown
}

# The store's content, without locks and staging: what an import may or may not change.
store_listing() {
    (cd "$BERTH_IMAGE_ROOT" && find . -path ./tmp -prune -o -print | sort && cat refs.json 2>/dev/null)
}

@test "image: import the formats skopeo writes, run each, read our export back with skopeo" {
    local src name
    for src in "dir:dir-img" "dir-v2s2:v2s2" "oci:oci-img:v1" "oci-archive.tar:oci-archive" \
        "docker.tar:"; do
        name=${src#*:}
        run berth image import "$FORMATS/${src%%:*}" ${name:+"$name"}
        [ "$status" -eq 0 ] || { echo "$output"; return 1; }
    done
    run berth image ls --format json
    [ "$status" -eq 0 ]
    [ "$(jq length <<<"$output")" -eq 5 ]
    # every import of the same image has the same content: one layer dir, shared
    [ "$(ls "$BERTH_IMAGE_ROOT/layers" | wc -l)" -eq 1 ]
    jq -e 'map(.name) | index("docker.io/example/dock:v3") != null' <<<"$output"
    for name in dir-img v2s2 oci-img:v1 oci-archive docker.io/example/dock:v3; do
        run berth run --image "$name" --rm "$(container_id x)" echo "hello from $name"
        [ "$status" -eq 0 ]
        [ "$output" = "hello from $name" ]
    done
    berth image export oci-img:v1 "$BERTH_TEST_DIR/out.tar"
    run skopeo inspect oci-archive:"$BERTH_TEST_DIR/out.tar"
    [ "$status" -eq 0 ]
    [ "$(jq -r '.Layers | length' <<<"$output")" -eq 1 ]
    skopeo copy -q oci-archive:"$BERTH_TEST_DIR/out.tar" dir:"$BERTH_TEST_DIR/back"
    # a docker-archive import gets an OCI manifest, and exports as one too
    berth image export docker.io/example/dock:v3 "$BERTH_TEST_DIR/dock.tar"
    skopeo copy -q oci-archive:"$BERTH_TEST_DIR/dock.tar" oci:"$BERTH_TEST_DIR/dock-oci:x"
    run berth image import "$BERTH_TEST_DIR/dock-oci" again:x
    [ "$status" -eq 0 ]
}

@test "image: an image built by umoci runs with its config (Cmd, User, Env, WorkingDir)" {
    local lay=$BERTH_TEST_DIR/umoci/lay b=$BERTH_TEST_DIR/umoci/b
    mkdir -p "$BERTH_TEST_DIR/umoci" "$BERTH_TEST_DIR/base"
    tar -xf "$FORMATS/default.tar" -C "$BERTH_TEST_DIR/base"
    umoci init --layout "$lay"
    umoci new --image "$lay:t1"
    umoci unpack --image "$lay:t1" "$b"
    # the default image's layer as the rootfs
    local m l
    m=$(jq -r '.manifests[0].digest' "$BERTH_TEST_DIR/base/index.json" | cut -d: -f2)
    l=$(jq -r '.layers[0].digest' "$BERTH_TEST_DIR/base/blobs/sha256/$m" | cut -d: -f2)
    tar -xzf "$BERTH_TEST_DIR/base/blobs/sha256/$l" -C "$b/rootfs"
    mkdir -p "$b/rootfs/work"
    umoci repack --image "$lay:t1" "$b"
    umoci config --image "$lay:t1" --config.user user --config.workingdir /work \
        --config.env GREETING=hi --config.cmd sh --config.cmd -c \
        --config.cmd 'echo "$GREETING $(id -un) $(pwd)"'
    berth image import "$lay" umoci-img
    run berth run --image umoci-img --rm "$(container_id)"
    [ "$status" -eq 0 ]
    [ "$output" = "hi user /work" ]
}

@test "image: run --image flags: -e -w -u --hostname --read-only -v, exit status, labels" {
    mkdir -p "$BERTH_TEST_DIR/vol"
    echo from-host >"$BERTH_TEST_DIR/vol/file"
    local id
    id=$(container_id)
    run berth run --image default --rm -e A=1 -e B -w /tmp -u user:root --hostname hn --read-only \
        -v "$BERTH_TEST_DIR/vol:/mnt/vol:ro" "$id" sh -c \
        'echo "$A|${B-unset}|$(pwd)|$(id -u):$(id -g)|$(hostname)"; cat /mnt/vol/file;
         touch /x 2>/dev/null && echo rootfs-writable; touch /mnt/vol/y 2>/dev/null && echo vol-writable; exit 7'
    [ "$status" -eq 7 ]
    [ "${lines[0]}" = "1|unset|/tmp|1000:0|hn" ]
    [ "${lines[1]}" = "from-host" ]
    [ "${#lines[@]}" -eq 2 ]
    # --rm: the container and its bundle are gone
    [ ! -e "$BERTH_ROOT/$id" ]
    [ -z "$(ls "$BERTH_IMAGE_ROOT/containers")" ]
}

@test "image: create --image writes the bundle from the image config; delete removes it" {
    local id bundle
    id=$(container_id)
    run berth create --image default --memory 64m --cpus 0.5 --pids-limit 50 "$id" \
        /bin/berth-testhelper ids
    [ "$status" -eq 0 ]
    bundle=$BERTH_IMAGE_ROOT/containers/$id
    jq -e '.linux.resources.memory.limit == 67108864 and .linux.resources.cpu.quota == 50000
           and .linux.resources.pids.limit == 50' "$bundle/config.json"
    jq -e '.annotations["org.opencontainers.image.title"] == "berth default"' "$bundle/config.json"
    jq -e '.annotations["org.berth.rootfs.overlay"] | startswith("lowerdir=")' "$bundle/config.json"
    jq -e '.process.env | index("HOSTNAME='"$id"'") != null' "$bundle/config.json"
    [ "$(berth state "$id" | jq -r .status)" = created ]
    [ "$(berth state "$id" | jq -r .bundle)" = "$bundle" ]
    # the image is in use: rm is refused and names the container
    run berth image rm default
    [ "$status" -ne 0 ]
    [[ $output == *"used by container $id"* ]]
    berth start "$id"
    wait_for_status "$id" stopped
    grep -q "^uid=0" "$bundle/output.log" || grep -q "uid" "$bundle/output.log"
    berth delete "$id"
    [ ! -e "$bundle" ]
    run berth image rm default
    [ "$status" -eq 0 ]
}

@test "image: -d writes output to the bundle's log, --rm -d deletes after exit" {
    local id
    id=$(container_id)
    berth run --image default -d "$id" sh -c 'echo detached-out; echo detached-err >&2'
    wait_for_status "$id" stopped
    grep -q detached-out "$BERTH_IMAGE_ROOT/containers/$id/output.log"
    grep -q detached-err "$BERTH_IMAGE_ROOT/containers/$id/output.log"
    berth delete "$id"
    id=$(container_id rm)
    berth run --image default -d --rm "$id" sleep 0.3
    retry 50 0.1 test ! -e "$BERTH_ROOT/$id"
    retry 20 0.1 test ! -e "$BERTH_IMAGE_ROOT/containers/$id"
}

@test "image: -t gives the container a terminal, relayed to berth's own" {
    command -v script >/dev/null || skip "needs script (bsdutils)"
    run timeout 20 script -qec "$BERTH --root $BERTH_ROOT run --image default --rm -t \
        $(container_id) sh -c 'tty; echo \$TERM'" /dev/null </dev/null
    [ "$status" -eq 0 ]
    [[ $output == *"/dev/pts/"* ]]
    [[ $output == *"xterm"* ]]
    [ -z "$(ls "$BERTH_IMAGE_ROOT/containers")" ]
}

@test "image: plain run with a bundle keeps its runc meaning; usage errors are clear" {
    run berth run --image --help
    [ "$status" -eq 0 ]
    [[ $output == *"--pids-limit"* ]]
    run berth run --image default -t -d "$(container_id)" true
    [ "$status" -ne 0 ]
    [[ $output == *"--console-socket"* ]]
    run berth run --image no-such-image "$(container_id)" true
    [ "$status" -ne 0 ]
    [[ $output == *'image "no-such-image" not found'* ]]
    run berth run --image default -u ghost "$(container_id)" true
    [ "$status" -ne 0 ]
    [[ $output == *'user "ghost" not found'* ]]
    [ -z "$(ls "$BERTH_IMAGE_ROOT/containers")" ]
    run berth run --help
    [[ $output == *"--image NAME"* ]]
}

@test "image: whiteouts and opaque dirs across three layers (overlay and copy snapshots)" {
    local d=$BERTH_TEST_DIR/wh k m l mode
    mkdir -p "$d/base"
    tar -xf "$FORMATS/default.tar" -C "$d/base"
    m=$(jq -r '.manifests[0].digest' "$d/base/index.json" | cut -d: -f2)
    l=$(jq -r '.layers[0].digest' "$d/base/blobs/sha256/$m" | cut -d: -f2)
    zcat "$d/base/blobs/sha256/$l" >"$d/base.tar"
    for k in wh1 wh2 wh3; do python3 "$OCI_PY" layer "$d/$k.tar" "$k"; done
    python3 "$OCI_PY" layout "$d/img" --gzip "$d/base.tar" "$d/wh1.tar" "$d/wh2.tar" "$d/wh3.tar"
    berth image import "$d/img" wh
    for mode in overlay copy; do
        if [ $mode = copy ]; then export BERTH_IMAGE_SNAPSHOT=copy; fi
        run berth --debug run --image wh --rm "$(container_id $mode)" sh -c \
            'cd / && find a b c keep opq 2>/dev/null | sort | tr "\n" " "; echo; cat c a/1;
             stat -c "%a %u:%g" suid; stat -c "%F %t:%T" null2'
        unset BERTH_IMAGE_SNAPSHOT
        [ "$status" -eq 0 ]
        [[ $output == *"a a/1 a/2 c keep opq opq/z "* ]]
        [[ $output == *"c again"* ]]
        [[ $output == *"a/1 again"* ]]
        [[ $output == *"4755 1000:1000"* ]]
        [[ $output == *"character special file 1:3"* ]]
        if [ $mode = copy ]; then
            [[ $output == *"overlayfs cannot be used"* ]]
        fi
    done
    # in the store: overlay whiteouts, the opaque xattr; trusted.overlay.* from the tar dropped
    python3 - "$BERTH_IMAGE_ROOT" <<'EOF'
import os, sys, glob
root = sys.argv[1]
found = {"wh": 0, "opq": 0, "user": 0}
for fs in glob.glob(root + "/layers/*/fs"):
    c = os.path.join(fs, "c")
    if os.path.lexists(c) and os.stat(c, follow_symlinks=False).st_rdev == 0 and \
            (os.stat(c, follow_symlinks=False).st_mode & 0o170000) == 0o020000:
        found["wh"] += 1
    o = os.path.join(fs, "opq")
    if os.path.isdir(o) and "trusted.overlay.opaque" in os.listxattr(o):
        assert os.getxattr(o, "trusted.overlay.opaque") == b"y"
        found["opq"] += 1
    s = os.path.join(fs, "suid")
    if os.path.exists(s):
        assert os.getxattr(s, "user.berth") == b"yes"
        assert "trusted.overlay.redirect" not in os.listxattr(s)
        found["user"] += 1
assert found == {"wh": 1, "opq": 1, "user": 1}, found
EOF
}

@test "image: a rootfs tarball (gzip, zstd, xz) imports as a one-layer image" {
    local d=$BERTH_TEST_DIR/rootfs
    mkdir -p "$d/tree/bin" "$d/tree/etc"
    cp "$(dirname "$BERTH")/tests/helpers/berth-testhelper" "$d/tree/bin/"
    cp /bin/busybox "$d/tree/bin/busybox"
    ln -s busybox "$d/tree/bin/sh"
    echo 'root:x:0:0:root:/root:/bin/sh' >"$d/tree/etc/passwd"
    tar -C "$d/tree" -czf "$d/tmpl.tar.gz" .
    tar -C "$d/tree" --zstd -cf "$d/tmpl.tar.zst" .
    tar -C "$d/tree" -cJf "$d/Tmpl-Xz.tar.xz" .
    berth image import "$d/tmpl.tar.gz"
    berth image import "$d/tmpl.tar.zst" zst
    berth image import "$d/Tmpl-Xz.tar.xz"
    run berth image ls
    [[ $output == *"tmpl:latest"* ]]
    [[ $output == *"zst:latest"* ]]
    [[ $output == *"tmpl-xz:latest"* ]]
    # same tree, same diff-id: the layer is unpacked once
    [ "$(ls "$BERTH_IMAGE_ROOT/layers" | wc -l)" -le 3 ]
    run berth image inspect tmpl-xz
    [ "$(jq -r '.layers[0].mediaType' <<<"$output")" = application/vnd.oci.image.layer.v1.tar ]
    run berth run --image tmpl --rm "$(container_id)"  /bin/sh -c 'echo rootfs-ok'
    [ "$output" = rootfs-ok ]
    berth image export tmpl-xz "$d/out.tar"
    skopeo inspect oci-archive:"$d/out.tar" >/dev/null
}

@test "image: rm, prune, inspect by digest prefix; the default image imports on first use" {
    run berth run --image default --rm "$(container_id)" echo first-use
    [ "$output" = first-use ]
    run berth image inspect default
    local digest
    digest=$(jq -r .digest <<<"$output")
    [ "$(jq -r '.layers | length' <<<"$output")" -eq 1 ]
    run berth image inspect "${digest:7:12}"
    [ "$status" -eq 0 ]
    berth image import "$FORMATS/oci-archive.tar" other
    berth image rm default
    berth image rm other:latest
    [ "$(cat "$BERTH_IMAGE_ROOT/refs.json")" = "{}" ]
    run berth image prune
    [ "$status" -eq 0 ]
    [[ $output == *"Removed 3 blobs, 1 layers"* ]]
    [ -z "$(find "$BERTH_IMAGE_ROOT/layers" "$BERTH_IMAGE_ROOT/blobs/sha256" -mindepth 1)" ]
    run berth image rm default
    [ "$status" -ne 0 ]
    [[ $output == *"not found"* ]]
}

@test "image: two imports of the same layers at once, and a killed import, leave a sound store" {
    local i
    for i in 1 2 3 4; do
        berth image import "$FORMATS/oci-archive.tar" "same$i" >"$BERTH_TEST_DIR/imp$i.log" 2>&1 &
    done
    wait
    run berth image ls --format json
    [ "$(jq length <<<"$output")" -eq 4 ]
    [ "$(ls "$BERTH_IMAGE_ROOT/layers" | wc -l)" -eq 1 ]
    [ -z "$(ls "$BERTH_IMAGE_ROOT/tmp")" ]
    run berth run --image same3 --rm "$(container_id)" echo ok
    [ "$output" = ok ]
    # a killed import leaves only its staging dir, which the next import removes
    local before
    before=$(store_listing)
    python3 "$OCI_PY" big "$BERTH_TEST_DIR/big" 24 3 >/dev/null
    "$BERTH" image import "$BERTH_TEST_DIR/big" big &
    local pid=$!
    sleep 0.3
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" || true
    if [ "$(store_listing)" != "$before" ]; then
        # it got as far as the commit before the kill: then it must be whole
        berth image inspect big >/dev/null
    else
        berth image import "$FORMATS/oci-archive.tar" again
        [ -z "$(ls "$BERTH_IMAGE_ROOT/tmp")" ]
    fi
}
