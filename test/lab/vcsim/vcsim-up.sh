#!/bin/bash
# Start vcsimx (or vcsim) on 127.0.0.1 in the background and wait until it answers.
# usage: vcsim-up.sh RUNDIR [PORT] [-- extra flags, e.g. -disk-mb 64 -vm 3 -nfc-format raw]
# Low-level helper; the project uses ../vcsim-lab.sh (fixed state dir, credentials, restart on kill -9).
# env:   VCSIM_BIN (default: ${GUTS_LAB_STATE_VCSIM:-/var/tmp/guts-lab/vcsim}/bin/vcsimx, where build.sh puts it)
# writes RUNDIR/pid, RUNDIR/env (export GOVC_URL=... VCSIM_THUMBPRINT=...), RUNDIR/vcsim.log
set -euo pipefail
RUN=$(realpath -m "$1"); shift
PORT=8989
if [ $# -gt 0 ] && [ "$1" != -- ]; then PORT=$1; shift; fi
[ "${1:-}" = -- ] && shift
BIN=${VCSIM_BIN:-${GUTS_LAB_STATE_VCSIM:-/var/tmp/guts-lab/vcsim}/bin/vcsimx}
mkdir -p "$RUN"
if [ -f "$RUN/pid" ] && kill -0 "$(cat "$RUN/pid")" 2>/dev/null; then echo "already running: pid $(cat "$RUN/pid")" >&2; exit 1; fi
t0=$(date +%s%N)
# TMPDIR: where the simulated datastores (govcsim-*) are created; kept inside RUNDIR
mkdir -p "$RUN/ds"
TMPDIR="${VCSIM_TMPDIR:-$RUN/ds}" setsid "$BIN" -l "127.0.0.1:$PORT" "$@" >"$RUN/env" 2>"$RUN/vcsim.log" </dev/null &
echo $! >"$RUN/pid"
for _ in $(seq 1 1500); do   # up to ~30 s (large -disk-mb fills take a while)
  if curl -skf -o /dev/null "https://127.0.0.1:$PORT/about" || curl -sf -o /dev/null "http://127.0.0.1:$PORT/about"; then
    echo "vcsim pid $(cat "$RUN/pid") ready on 127.0.0.1:$PORT in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
    cat "$RUN/env"; exit 0
  fi
  kill -0 "$(cat "$RUN/pid")" 2>/dev/null || { echo "vcsim exited:" >&2; cat "$RUN/vcsim.log" >&2; exit 1; }
  sleep 0.02
done
echo "vcsim did not answer in time" >&2; exit 1
