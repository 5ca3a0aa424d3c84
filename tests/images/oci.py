#!/usr/bin/env python3
"""Test images for berth's image tests, made without berth.

  oci.py layout OUT [--gzip] [--name REF] LAYER.tar...   OCI layout dir with these layers
  oci.py layer OUT.tar KIND [ARG]                          one crafted layer (see LAYERS)
  oci.py big OUT MIB LAYERS                                OCI layout of random files, MIB in all

Layers are tars written with Python's tarfile, entry by entry, so hostile
layers can say exactly what an attacker would.
"""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile


def add_file(t, name, data=b"", mode=0o644, uid=0, gid=0, xattrs=None):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = mode
    ti.uid, ti.gid = uid, gid
    ti.mtime = 1000000000
    if xattrs:
        ti.pax_headers = {"SCHILY.xattr." + k: v for k, v in xattrs.items()}
    t.addfile(ti, io.BytesIO(data))


def add_dir(t, name, mode=0o755, uid=0, gid=0):
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.DIRTYPE
    ti.mode = mode
    ti.uid, ti.gid = uid, gid
    ti.mtime = 1000000000
    t.addfile(ti)


def add_link(t, name, target, hard=False):
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.LNKTYPE if hard else tarfile.SYMTYPE
    ti.linkname = target
    ti.mtime = 1000000000
    t.addfile(ti)


def add_dev(t, name, major, minor, kind=tarfile.CHRTYPE, mode=0o666):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.devmajor, ti.devminor = major, minor
    ti.mode = mode
    t.addfile(ti)


def layer(out, kind, arg=None):
    if kind == "huge":  # a regular file claiming ARG bytes, and no data at all
        ti = tarfile.TarInfo("huge")
        ti.size = int(arg)
        ti.mode = 0o644
        with open(out, "wb") as f:
            f.write(ti.tobuf(tarfile.PAX_FORMAT) + bytes(2 * tarfile.BLOCKSIZE))
        return
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
        if kind == "traversal":  # ../../ARG/pwned
            add_file(t, "../../../../../../.." + arg + "/pwned", b"pwned\n")
        elif kind == "absolute":  # /ARG/pwned
            add_file(t, arg + "/pwned", b"pwned\n")
        elif kind == "symlink-write":  # evil -> ARG, then evil/pwned
            add_link(t, "evil", arg)
            add_file(t, "evil/pwned", b"pwned\n")
        elif kind == "symlink-file":  # evil -> ARG/file, then a file evil (must replace the link)
            add_link(t, "evil", arg + "/file")
            add_file(t, "evil", b"replaced\n")
        elif kind == "hardlink-out":  # a hard link to a file outside the layer
            add_file(t, "ok", b"ok\n")
            add_link(t, "evil", "../../../../../../.." + arg + "/victim", hard=True)
        elif kind == "hardlink-abs":
            add_link(t, "evil", arg + "/victim", hard=True)
        elif kind == "hardlink-via-symlink":
            add_link(t, "dir", arg)
            add_link(t, "evil", "dir/victim", hard=True)
        elif kind == "dir":  # d/ (a directory)
            add_dir(t, "d")
            add_file(t, "d/keep", b"keep\n")
        elif kind == "dir-to-symlink":  # d -> ARG (replacing the directory)
            add_link(t, "d", arg)
        elif kind == "write-into-d":  # d/pwned without a d/ entry
            add_file(t, "d/pwned", b"pwned\n")
        elif kind == "wh1":  # base: a/, a/{1,2}, b/, b/{1,2}, c, keep, opq/{x,y}
            for d in ("a", "b", "opq"):
                add_dir(t, d)
            for f in ("a/1", "a/2", "b/1", "b/2", "c", "keep", "opq/x", "opq/y"):
                add_file(t, f, f.encode() + b"\n")
            add_file(t, "suid", b"#!/bin/sh\n", mode=0o4755, uid=1000, gid=1000,
                     xattrs={"user.berth": "yes", "trusted.overlay.redirect": "/etc"})
            add_dev(t, "null2", 1, 3)
        elif kind == "wh2":  # delete a/1 and c, make opq opaque with z, add b/3
            add_file(t, "a/.wh.1")
            add_file(t, ".wh.c")
            add_dir(t, "opq")
            add_file(t, "opq/.wh..wh..opq")
            add_file(t, "opq/z", b"z\n")
            add_file(t, "b/3", b"b/3\n")
        elif kind == "wh3":  # delete the directory b, bring c back, recreate a/1
            add_file(t, ".wh.b")
            add_file(t, "c", b"c again\n")
            add_file(t, "a/1", b"a/1 again\n")
        else:
            sys.exit("unknown layer kind " + kind)


def blob(out, data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(out, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return d


def layout(out, layers, gz=False, name=None, cmd=("/bin/sh",)):
    os.makedirs(os.path.join(out, "blobs", "sha256"), exist_ok=True)
    descs, diff_ids = [], []
    for path in layers:
        with open(path, "rb") as f:
            tar = f.read()
        diff_ids.append("sha256:" + hashlib.sha256(tar).hexdigest())
        data = gzip.compress(tar, mtime=0) if gz else tar
        mt = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if gz else "")
        descs.append({"mediaType": mt, "digest": "sha256:" + blob(out, data), "size": len(data)})
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "created": "2020-01-01T00:00:00Z",
        "config": {"Cmd": list(cmd), "Env": ["PATH=/bin", "FROM_IMAGE=1"],
                   "Labels": {"org.example.test": "yes"}, "StopSignal": "SIGUSR1"},
        "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    cd = blob(out, config)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": "sha256:" + cd, "size": len(config)},
        "layers": descs}).encode()
    md = blob(out, manifest)
    desc = {"mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": "sha256:" + md, "size": len(manifest)}
    if name:
        desc["annotations"] = {"org.opencontainers.image.ref.name": name}
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [desc]}, f)
    with open(os.path.join(out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    print("sha256:" + md)


def big(out, mib, n):
    tars = []
    per = (mib << 20) // n
    rnd = open("/dev/urandom", "rb")
    for i in range(n):
        path = os.path.join(out + ".layers", "layer%d.tar" % i)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with tarfile.open(path, "w") as t:
            add_dir(t, "l%d" % i)
            left, k = per, 0
            while left > 0:
                size = min(left, 256 << 10)
                # half random, half zeros: compressible like real binaries
                data = rnd.read(size // 2) + bytes(size - size // 2)
                add_file(t, "l%d/f%05d" % (i, k), data)
                left -= size
                k += 1
        tars.append(path)
    layout(out, tars, gz=True, name="big")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd = sys.argv[1]
    if cmd == "layer":
        layer(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None)
    elif cmd == "layout":
        args, gz, name = sys.argv[3:], False, None
        while args and args[0].startswith("--"):
            if args[0] == "--gzip":
                gz = True
                args = args[1:]
            elif args[0] == "--name":
                name = args[1]
                args = args[2:]
        layout(sys.argv[2], args, gz, name)
    elif cmd == "big":
        big(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
