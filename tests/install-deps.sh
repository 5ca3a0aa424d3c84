#!/bin/bash
# Install what berth's build and tests need on Debian 12, as root: tests/install-deps.sh
# With --build: only what building berth and the README's quick start need.
#
# Only missing packages are installed, so a second run does nothing and needs no network.
# To add packages, append to a list below (or pass more in EXTRA_PACKAGES="a b").
set -euo pipefail

# Building berth (configure checks these with pkg-config; the static helper needs libc6-dev).
BUILD_PACKAGES=(
    build-essential
    autoconf
    automake
    pkg-config
    libcap-dev
    libseccomp-dev
    libyajl-dev
    libmnl-dev
    libnftnl-dev
    # images/: tar, gzip, zstd and xz layers (libarchive), sha256 (libcrypto)
    libarchive-dev
    libssl-dev
)

# Running the tests: bats files, the rootfs template (busybox-static), process/mount/netns
# inspection, and tmux for terminal tests; network.bats inspects rules with nft and talks to
# containers with socat and curl.
TEST_PACKAGES=(
    bats
    jq
    busybox-static
    iproute2
    procps
    psmisc
    util-linux
    tmux
    nftables
    socat
    curl
    # tests/vm: a pure cgroup v2 machine (qemu under TCG booting Debian's kernel; cpio builds
    # its initramfs around busybox-static)
    qemu-system-x86
    linux-image-amd64
    cpio
    # images: tools we did not write make the test images (skopeo, umoci), hostile layers
    # are crafted with python3's tarfile, rootfs tarballs are compressed with zstd
    skopeo
    umoci
    zstd
    python3
    bc
    # systemd: systemd-socket-activate (socket activation tests) and the VM's pid 1
    systemd
)

# Appended by other harnesses (e.g. qemu for the VM tests); also settable from the environment.
read -r -a EXTRA_PACKAGES <<<"${EXTRA_PACKAGES:-}"

# The README's quick start also makes a busybox bundle and edits its config with jq.
QUICKSTART_PACKAGES=(
    busybox-static
    jq
)

if [ "${1:-}" = --build ]; then
    PACKAGES=("${BUILD_PACKAGES[@]}" "${QUICKSTART_PACKAGES[@]}")
else
    PACKAGES=("${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}" "${EXTRA_PACKAGES[@]}")
fi

log() {
    echo "install-deps: $*" >&2
}

if [ "$(id -u)" -ne 0 ]; then
    log "must run as root"
    exit 1
fi

is_installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

missing=()
for pkg in "${PACKAGES[@]}"; do
    is_installed "$pkg" || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt_get() {
    apt-get -qq -o Dpkg::Use-Pty=0 -o Dpkg::Options::=--force-confdef \
        -o Dpkg::Options::=--force-confold "$@"
}

log "installing ${missing[*]}"
if ! apt_get update >/dev/null; then
    log "apt-get update failed"
    exit 1
fi
if apt_get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>"/tmp/install-deps.$$.log"; then
    rm -f "/tmp/install-deps.$$.log"
    exit 0
fi

# The batch failed: install one by one to name the culprit(s).
failed=()
for pkg in "${missing[@]}"; do
    is_installed "$pkg" && continue
    if ! apt_get install -y --no-install-recommends "$pkg" >/dev/null 2>>"/tmp/install-deps.$$.log"; then
        failed+=("$pkg")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    cat "/tmp/install-deps.$$.log" >&2
    rm -f "/tmp/install-deps.$$.log"
    log "FAILED to install: ${failed[*]}"
    exit 1
fi
rm -f "/tmp/install-deps.$$.log"
