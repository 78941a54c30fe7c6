#!/usr/bin/env bash
# Fetch the Debian package openclipart-png (public-domain clip art, CC PD dedication) without installing it:
# DEST/png gets usr/share/openclipart/png, DEST/copyright its copyright file. Idempotent.
# Usage: scripts/fetch_openclipart.sh DEST      (the Makefile uses DEST=.venv/share/openclipart)
set -euo pipefail

dest=${1:?usage: $0 DEST}
if [ -d "$dest/png" ]; then
    exit 0
fi
hint="get it with 'apt-get install openclipart-png' (found in /usr/share/openclipart/png)"
hint="$hint, or set IE_OPENCLIPART_DIR to a copy of openclipart/png"
if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg >/dev/null 2>&1; then
    echo "fetch_openclipart: apt-get/dpkg not found; $hint" >&2
    exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
if ! apt-get download openclipart-png >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1 || true
    if ! apt-get download openclipart-png >/dev/null 2>&1; then
        echo "fetch_openclipart: 'apt-get download openclipart-png' failed; $hint" >&2
        exit 1
    fi
fi
dpkg -x openclipart-png_*.deb root
cd - >/dev/null
mkdir -p "$dest"
rm -rf "$dest/png.tmp"
mv "$work/root/usr/share/openclipart/png" "$dest/png.tmp"
cp "$work/root/usr/share/doc/openclipart-png/copyright" "$dest/copyright"
mv "$dest/png.tmp" "$dest/png"
echo "fetch_openclipart: $(find "$dest/png" -name '*.png' | wc -l) images in $dest/png"
