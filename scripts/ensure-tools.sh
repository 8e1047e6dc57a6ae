#!/usr/bin/env bash
# Makes sure the external tools guts and its tests use are installed: qemu-img (Debian: qemu-utils).
# Installs them with apt-get when it can (root, or sudo without a password); otherwise says how.
set -euo pipefail
missing=()
command -v qemu-img >/dev/null || missing+=(qemu-utils)
[ ${#missing[@]} -eq 0 ] && exit 0
if command -v apt-get >/dev/null; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if sudo -n true 2>/dev/null; then SUDO=sudo; else
      echo "guts needs: ${missing[*]}. Install with: sudo apt-get install -y ${missing[*]}" >&2; exit 1
    fi
  fi
  echo "Installing ${missing[*]} with apt-get…" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "guts needs qemu-img: install your distribution's qemu-img / qemu-utils package." >&2
  exit 1
fi
