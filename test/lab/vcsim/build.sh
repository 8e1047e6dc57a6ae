#!/bin/bash
# Build vcsimx (govmomi's vCenter simulator + ExportVm/ExportSnapshot/CBT, see vcsimx.go) from
# Debian bookworm's packages only (no Go module proxy: GOPATH mode against /usr/share/gocode).
# usage: build.sh [OUTDIR]     (root for apt; OUTDIR default ${GUTS_LAB_STATE_VCSIM:-/var/tmp/guts-lab/vcsim}/bin)
# env:   GOCACHE (default OUTDIR/../gocache, kept so that rebuilds take seconds, not minutes)
#        VCSIM_FORCE_BUILD=1 rebuilds even when the stamp matches
# Up to date = OUTDIR/vcsimx exists and is newer than vcsimx.go, or OUTDIR/vcsimx.stamp
# (sha256 of vcsimx.go + govmomi/go package versions) matches: a fresh git clone gives
# vcsimx.go a new mtime, and the stamp avoids a pointless rebuild then.
set -euo pipefail
STATE=${GUTS_LAB_STATE_VCSIM:-/var/tmp/guts-lab/vcsim}
OUT=$(realpath -m "${1:-$STATE/bin}")
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$HERE/vcsimx.go
APT=(apt-get -o DPkg::Lock::Timeout=900 -y --no-install-recommends)   # waits for a busy dpkg lock

t0=$(date +%s)
if ! command -v go >/dev/null || [ ! -d /usr/share/gocode/src/github.com/vmware/govmomi/simulator ]; then
  [ "$(id -u)" = 0 ] || { echo "build.sh: go / golang-github-vmware-govmomi-dev missing and not root (apt-get needs root)" >&2; exit 1; }
  if ! apt-cache show golang-github-vmware-govmomi-dev >/dev/null 2>&1; then   # fresh machine: no lists yet
    for i in $(seq 1 30); do apt-get update >/dev/null && break; echo "apt-get update busy, retry $i" >&2; sleep 10; done
  fi
  echo "installing golang-go golang-github-vmware-govmomi-dev (apt)" >&2
  DEBIAN_FRONTEND=noninteractive "${APT[@]}" install golang-go golang-github-vmware-govmomi-dev >/dev/null
  echo "apt done in $(( $(date +%s) - t0 )) s" >&2
fi
mkdir -p "$OUT"
stamp() {
  { sha256sum <"$SRC" | cut -d' ' -f1
    dpkg-query -W -f='${Package}=${Version}\n' golang-github-vmware-govmomi-dev golang-go 2>/dev/null || true; } | tr '\n' ' '
}
want=$(stamp)
if [ -z "${VCSIM_FORCE_BUILD:-}" ] && [ -x "$OUT/vcsimx" ]; then
  if [ "$OUT/vcsimx" -nt "$SRC" ] || [ "$(cat "$OUT/vcsimx.stamp" 2>/dev/null)" = "$want" ]; then
    echo "up to date: $OUT/vcsimx"; exit 0
  fi
fi
t1=$(date +%s)
export GO111MODULE=off GOFLAGS= GOPATH=/usr/share/gocode GOCACHE="${GOCACHE:-$(dirname "$OUT")/gocache}"
go build -trimpath -o "$OUT/vcsimx.tmp" "$SRC"
mv -f "$OUT/vcsimx.tmp" "$OUT/vcsimx"        # atomic: a running vcsimx keeps its old inode
printf '%s' "$want" >"$OUT/vcsimx.stamp"
echo "built $OUT/vcsimx ($(stat -c %s "$OUT/vcsimx") bytes): go build $(( $(date +%s) - t1 )) s, total $(( $(date +%s) - t0 )) s"
