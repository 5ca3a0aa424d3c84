#!/usr/bin/env bats
# Hostile images: every import must fail with a clear error, leave the store exactly as it
# was (no blob, layer, name or staging dir), and write nothing outside the store: each
# attack aims at a canary directory, which must stay empty.

load helpers

OCI_PY=$BERTH_SRCDIR/tests/images/oci.py

setup() {
    require_root
    command -v python3 >/dev/null || skip "needs python3 (tests/install-deps.sh)"
    BERTH_TEST_DIR=$BATS_TEST_TMPDIR
    BERTH_ROOT=$BERTH_TEST_DIR/root
    BERTH_CID=t${BATS_SUITE_TEST_NUMBER}-$$
    export BERTH_IMAGE_ROOT=$BERTH_TEST_DIR/store
    CANARY=$BERTH_TEST_DIR/canary
    W=$BERTH_TEST_DIR/work
    mkdir -p "$BERTH_ROOT" "$CANARY" "$W"
    echo victim >"$BERTH_TEST_DIR/victim"
    # a store with one good image in it, so that "unchanged" means something
    python3 "$OCI_PY" layer "$W/good.tar" dir
    python3 "$OCI_PY" layout "$W/good" "$W/good.tar" >/dev/null
    "$BERTH" image import "$W/good" good >/dev/null
    BEFORE=$(store_listing)
}

teardown() {
    berth_teardown
}

store_listing() {
    (cd "$BERTH_IMAGE_ROOT" && find . -printf '%p %s %m\n' | sort && cat refs.json)
}

# expect_refused SOURCE PATTERN: the import fails naming PATTERN, and changed nothing.
expect_refused() {
    run "$BERTH" image import "$1" evil
    echo "$output"
    [ "$status" -ne 0 ]
    [[ $output == *"$2"* ]]
    [ "$(store_listing)" = "$BEFORE" ]
    [ -z "$(ls -A "$CANARY")" ]
    [ "$(cat "$BERTH_TEST_DIR/victim")" = victim ]
    run "$BERTH" image inspect evil
    [ "$status" -ne 0 ]
}

hostile() { # KIND [ARG]: a one-layer image made of a crafted layer
    python3 "$OCI_PY" layer "$W/$1.tar" "$@"
    python3 "$OCI_PY" layout "$W/$1" "$W/$1.tar" >/dev/null
}

@test "hostile: path traversal with .. is refused" {
    hostile traversal "$CANARY"
    expect_refused "$W/traversal" '".." component'
}

@test "hostile: an absolute path is refused" {
    hostile absolute "$CANARY"
    expect_refused "$W/absolute" "absolute path"
}

@test "hostile: an absolute symlink, then a write through it, is refused" {
    hostile symlink-write "$CANARY"
    expect_refused "$W/symlink-write" 'its parent "evil" is a symlink'
}

@test "hostile: a file over a symlink replaces the link, never writes through it" {
    hostile symlink-file "$CANARY"
    run "$BERTH" image import "$W/symlink-file" notevil
    [ "$status" -eq 0 ]
    [ -z "$(ls -A "$CANARY")" ]
    [ "$(cat "$BERTH_IMAGE_ROOT"/layers/*/fs/evil | grep -c replaced)" -eq 1 ]
}

@test "hostile: hard links out of the layer are refused (.., absolute, through a symlink)" {
    hostile hardlink-out "$BERTH_TEST_DIR"
    expect_refused "$W/hardlink-out" 'hard link to'
    hostile hardlink-abs "$BERTH_TEST_DIR"
    expect_refused "$W/hardlink-abs" 'absolute path'
    hostile hardlink-via-symlink "$BERTH_TEST_DIR"
    expect_refused "$W/hardlink-via-symlink" 'not a directory of this layer'
}

@test "hostile: a directory replaced by a symlink in a later layer, then written into" {
    python3 "$OCI_PY" layer "$W/l1.tar" dir
    python3 "$OCI_PY" layer "$W/l2.tar" dir-to-symlink "$CANARY"
    python3 "$OCI_PY" layer "$W/l3.tar" write-into-d
    python3 "$OCI_PY" layout "$W/d2s" "$W/l1.tar" "$W/l2.tar" "$W/l3.tar" >/dev/null
    expect_refused "$W/d2s" 'which layer 2/3'
    # and as a tar of the layout, gzip layers
    python3 "$OCI_PY" layout "$W/d2s-gz" --gzip "$W/l1.tar" "$W/l2.tar" "$W/l3.tar" >/dev/null
    tar -C "$W/d2s-gz" -cf "$W/d2s-gz.tar" .
    expect_refused "$W/d2s-gz.tar" 'made a symlink: refusing to write through it'
}

@test "hostile: a 0-byte file claiming 1 TiB (GNU sparse, and a bare header) is refused" {
    truncate -s 1T "$W/sparse"
    tar -C "$W" --sparse -cf "$W/sparse.tar" sparse
    rm -f "$W/sparse"
    [ "$(stat -c %s "$W/sparse.tar")" -lt 1048576 ]
    python3 "$OCI_PY" layout "$W/sparse-img" "$W/sparse.tar" >/dev/null
    expect_refused "$W/sparse-img" "claims 1099511627776 bytes"
    hostile huge $((1 << 40))
    expect_refused "$W/huge" "refusing an absurd size"
}

@test "hostile: a corrupted blob is named and refused (directory and archive)" {
    local m l
    python3 "$OCI_PY" layout "$W/corrupt" "$W/good.tar" >/dev/null
    m=$(jq -r '.manifests[0].digest' "$W/corrupt/index.json" | cut -d: -f2)
    l=$(jq -r '.layers[0].digest' "$W/corrupt/blobs/sha256/$m" | cut -d: -f2)
    # already in the store from the good image: corrupt a blob that is not (the config)
    python3 "$OCI_PY" layer "$W/other.tar" wh1
    python3 "$OCI_PY" layout "$W/corrupt2" "$W/other.tar" >/dev/null
    m=$(jq -r '.manifests[0].digest' "$W/corrupt2/index.json" | cut -d: -f2)
    l=$(jq -r '.layers[0].digest' "$W/corrupt2/blobs/sha256/$m" | cut -d: -f2)
    printf 'X' | dd of="$W/corrupt2/blobs/sha256/$l" bs=1 seek=600 conv=notrunc 2>/dev/null
    expect_refused "$W/corrupt2" "blob sha256:$l (layer 1) does not match its digest"
    tar -C "$W/corrupt2" -cf "$W/corrupt2.tar" .
    expect_refused "$W/corrupt2.tar" "blob sha256:$l does not match its digest"
}

@test "hostile: a manifest pointing at a missing blob is refused" {
    local m l
    python3 "$OCI_PY" layer "$W/other.tar" wh1
    python3 "$OCI_PY" layout "$W/missing" "$W/other.tar" >/dev/null
    m=$(jq -r '.manifests[0].digest' "$W/missing/index.json" | cut -d: -f2)
    l=$(jq -r '.layers[0].digest' "$W/missing/blobs/sha256/$m" | cut -d: -f2)
    rm "$W/missing/blobs/sha256/$l"
    expect_refused "$W/missing" "blob sha256:$l (layer 1) is missing"
}

@test "hostile: a config whose diff_id does not match the layer is refused" {
    python3 "$OCI_PY" layer "$W/a.tar" wh1
    python3 "$OCI_PY" layer "$W/b.tar" wh2
    python3 "$OCI_PY" layout "$W/swap" "$W/a.tar" "$W/b.tar" >/dev/null
    # swap the diff_ids in the config and re-hash config and manifest
    python3 - "$W/swap" <<'EOF'
import hashlib, json, os, sys
d = sys.argv[1]
b = lambda h: os.path.join(d, "blobs", "sha256", h)
idx = json.load(open(os.path.join(d, "index.json")))
mh = idx["manifests"][0]["digest"][7:]
m = json.load(open(b(mh)))
c = json.load(open(b(m["config"]["digest"][7:])))
c["rootfs"]["diff_ids"].reverse()
cd = json.dumps(c).encode()
ch = hashlib.sha256(cd).hexdigest()
open(b(ch), "wb").write(cd)
m["config"] = {"mediaType": m["config"]["mediaType"], "digest": "sha256:" + ch, "size": len(cd)}
md = json.dumps(m).encode()
nh = hashlib.sha256(md).hexdigest()
open(b(nh), "wb").write(md)
idx["manifests"][0].update(digest="sha256:" + nh, size=len(md))
json.dump(idx, open(os.path.join(d, "index.json"), "w"))
EOF
    expect_refused "$W/swap" "but the image config says"
}
