#!/usr/bin/env bash
# vcsim-lab.sh up|down|status|env|build|bench|logs
#
# A vCenter simulator (vcsimx: govmomi 0.24.2's vcsim from Debian's packages + ExportVm,
# ExportSnapshot, frozen snapshots, CBT; source and helpers in test/lab/vcsim/) on
# 127.0.0.1 for the vSphere driver's tests.  See test/lab/vcsim/LAB-NOTES.md.
#
#   up      Idempotent.  Builds vcsimx when missing or stale (apt-installs golang-go and
#           golang-github-vmware-govmomi-dev when missing), then starts it unless the one
#           recorded in the state dir is alive, is ours, runs the current binary with the
#           same settings and answers RetrieveServiceContent.  A dead (kill -9) or hung
#           one is cleaned up and restarted.  Last line on stdout: the SDK URL.
#           Non-zero with the log's tail when it does not come up.
#   down    SIGTERM by pid (SIGKILL after 10 s), removes the simulated datastores.
#   status  Exit 0 when the recorded vcsimx is alive and answers RetrieveServiceContent.
#   env     export lines (GOVC_URL with user:pass, GOVC_INSECURE=1, VCSIM_THUMBPRINT,
#           GUTS_LAB_VCSIM=<json file>, ...); use: eval "$(test/lab/vcsim-lab.sh env)"
#   build   Only build (or confirm) the binary.
#   bench   test/lab/vcsim/nfc-bench.sh against the running lab (curl-only ExportVm check).
#   flow    test/lab/vcsim/reference/flow.mjs (Node: CBT, snapshot, ExportSnapshot, incremental,
#           ExportVm) against the running lab, TLS verified with run/cert.pem; npm-installs
#           fast-xml-parser into STATE/node the first time.
#   logs    Prints the log path and its last lines.
#
# Env: GUTS_LAB_STATE_VCSIM     state dir (default /var/tmp/guts-lab/vcsim; not in git):
#                               bin/vcsimx, gocache/, run/{pid,args,vcsim.log,vcsim.json,cert.pem,ds/}
#      GUTS_LAB_VCSIM_PORT      default 8989
#      GUTS_LAB_VCSIM_USER / GUTS_LAB_VCSIM_PASSWORD   default guts / guts-lab (others get InvalidLogin)
#      GUTS_LAB_VCSIM_FLAGS     extra vcsimx flags, default "-disk-mb 16"
#                               (1,000 VMs: "-dc 4 -cluster 4 -host 8 -vm 50 -pool 2")
#      GUTS_LAB_VCSIM_TIMEOUT   seconds to wait for the first answer (default 120)
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB=$HERE/vcsim
STATE=$(realpath -m "${GUTS_LAB_STATE_VCSIM:-/var/tmp/guts-lab/vcsim}")
export GUTS_LAB_STATE_VCSIM=$STATE
BIN=$STATE/bin/vcsimx
RUN=$STATE/run
PORT=${GUTS_LAB_VCSIM_PORT:-8989}
LUSER=${GUTS_LAB_VCSIM_USER:-guts}
LPASS=${GUTS_LAB_VCSIM_PASSWORD:-guts-lab}
FLAGS=${GUTS_LAB_VCSIM_FLAGS--disk-mb 16}
TIMEOUT=${GUTS_LAB_VCSIM_TIMEOUT:-120}
SCHEME=https
[[ " $FLAGS " == *" -tls=false "* || " $FLAGS " == *" --tls=false "* ]] && SCHEME=http
BASE=$SCHEME://127.0.0.1:$PORT
SDK=$BASE/sdk
# shellcheck disable=SC2206
ARGV=("$BIN" -l "127.0.0.1:$PORT" -username "$LUSER" -password "$LPASS" $FLAGS)

say() { printf 'vcsim-lab: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
log_tail() {  # the current start's part of the log: all of it if short, else its head (usage errors) and tail
  [[ -s $RUN/vcsim.log ]] || { say "(log $RUN/vcsim.log is empty)"; return 0; }
  local sec; sec=$(awk '/^=== /{buf=""} {buf=buf $0 "\n"} END{printf "%s", buf}' "$RUN/vcsim.log")
  say "log of this start ($RUN/vcsim.log):"
  if (( $(wc -l <<<"$sec") <= 45 )); then sed 's/^/  | /' <<<"$sec" >&2
  else { head -n 6 <<<"$sec"; echo "..."; tail -n 30 <<<"$sec"; } | sed 's/^/  | /' >&2; fi
}

# soap_ok: RetrieveServiceContent answers with a rootFolder (no login needed).
soap_ok() {
  local out
  out=$(curl -sk --max-time "${1:-5}" -H 'Content-Type: text/xml; charset=utf-8' -H 'SOAPAction: "urn:vim25/6.5"' \
    --data-binary '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><RetrieveServiceContent xmlns="urn:vim25"><_this type="ServiceInstance">ServiceInstance</_this></RetrieveServiceContent></soapenv:Body></soapenv:Envelope>' \
    "$SDK" 2>/dev/null) || return 1
  [[ $out == *"<rootFolder"* ]]
}

# ours PID: alive and its argv[0] is our binary (guards against pid reuse after a reboot).
ours() {
  local pid=$1 a0
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  a0=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | head -n1) || return 1
  [[ $a0 == "$BIN" ]]
}
recorded_pid() { cat "$RUN/pid" 2>/dev/null || true; }
listener() { ss -Hltnp "sport = :$PORT" 2>/dev/null | head -n3; }

stop_pid() {  # stop_pid PID: TERM, wait 10 s, KILL
  local pid=$1
  ours "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do ours "$pid" || break; sleep 0.1; done
  if ours "$pid"; then say "pid $pid ignored SIGTERM; SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; sleep 0.2; fi
}

cleanup_run() { rm -rf "$RUN/ds" "$RUN/pid" "$RUN/vcsim.json" "$RUN/url" "$RUN/env.raw"; }

# up_state: 0 = ours, current and answering; 1 = not running; 2 = running but must be restarted
up_state() {
  local pid; pid=$(recorded_pid)
  ours "$pid" || return 1
  if [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == *" (deleted)" ]]; then say "pid $pid runs an old vcsimx build; restarting"; return 2; fi
  if [[ "$(cat "$RUN/args" 2>/dev/null)" != "${ARGV[*]}" ]]; then say "pid $pid runs with other settings ($(cat "$RUN/args" 2>/dev/null)); restarting"; return 2; fi
  [[ -s $RUN/vcsim.json ]] || { say "pid $pid has no vcsim.json (half-started?); restarting"; return 2; }
  local i; for i in 1 2 3; do soap_ok 10 && return 0; sleep 1; done
  say "pid $pid is alive but does not answer RetrieveServiceContent on $SDK; restarting"; return 2
}

write_info() {  # after the first answer: vcsim.json, url, cert.pem
  local pid=$1 thumb="" cafile=""
  thumb=$(sed -n 's/.*VCSIM_THUMBPRINT=\([^ ]*\).*/\1/p' "$RUN/env.raw" 2>/dev/null | head -n1)
  if [[ $SCHEME == https ]] && command -v openssl >/dev/null; then
    if openssl s_client -connect "127.0.0.1:$PORT" -showcerts </dev/null 2>/dev/null | openssl x509 -outform PEM >"$RUN/cert.pem" 2>/dev/null; then
      cafile=$RUN/cert.pem
    else rm -f "$RUN/cert.pem"; fi
  fi
  printf '%s\n' "$SDK" >"$RUN/url"
  cat >"$RUN/vcsim.json.tmp" <<JSON
{
  "url": "$SDK",
  "base": "$BASE",
  "host": "127.0.0.1",
  "port": $PORT,
  "username": "$LUSER",
  "password": "$LPASS",
  "insecure": true,
  "thumbprint": "$thumb",
  "caFile": "$cafile",
  "pid": $pid,
  "flags": "$FLAGS",
  "log": "$RUN/vcsim.log",
  "datastoreDir": "$RUN/ds"
}
JSON
  mv -f "$RUN/vcsim.json.tmp" "$RUN/vcsim.json"
}

cmd_build() { bash "$LAB/build.sh" "$STATE/bin" >&2; }

cmd_up() {
  mkdir -p "$RUN"
  exec 9>"$STATE/.lock"
  flock -w 900 9 || die "another 'vcsim-lab.sh up/down' holds $STATE/.lock"
  local t0 tb; t0=$(now_ms)  # tb: launch time
  command -v curl >/dev/null || die "curl missing"
  cmd_build || die "building vcsimx failed (see above)"
  local st=0; up_state || st=$?
  if ((st == 0)); then
    say "already up: pid $(recorded_pid) on $SDK"
    echo "$SDK"; return 0
  fi
  if ((st == 2)); then stop_pid "$(recorded_pid)"; fi
  local old; old=$(recorded_pid)
  ((st == 1)) && [[ -n $old ]] && say "recorded pid $old is gone (killed?); cleaning up and restarting"
  cleanup_run
  if [[ -n $(listener) ]]; then
    die "port $PORT on 127.0.0.1 is taken by another process: $(listener) — stop it or set GUTS_LAB_VCSIM_PORT"
  fi
  mkdir -p "$RUN/ds"
  tb=$(now_ms)
  {
    echo "=== $(date -Is) starting: ${ARGV[*]}"
  } >>"$RUN/vcsim.log"
  # own session (setsid): not killed with the caller's process group; TMPDIR = datastores;
  # 9>&-: the lock fd must not be inherited, or vcsimx would hold the lock for its lifetime
  TMPDIR=$RUN/ds setsid "${ARGV[@]}" >"$RUN/env.raw" 2>>"$RUN/vcsim.log" </dev/null 9>&- &
  local pid=$!
  echo "$pid" >"$RUN/pid"
  printf '%s' "${ARGV[*]}" >"$RUN/args"
  local deadline=$(( $(date +%s) + TIMEOUT ))
  while :; do
    if soap_ok 5; then break; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      local rc=0; wait "$pid" 2>/dev/null || rc=$?
      log_tail; cleanup_run; die "vcsimx exited (status $rc) before answering on $SDK"
    fi
    if (( $(date +%s) >= deadline )); then
      log_tail; stop_pid "$pid"; cleanup_run
      die "vcsimx (pid $pid) did not answer RetrieveServiceContent on $SDK within ${TIMEOUT}s (GUTS_LAB_VCSIM_TIMEOUT)"
    fi
    sleep 0.05
  done
  write_info "$pid"
  local rss; rss=$(awk '/VmRSS/{print int($2/1024)}' "/proc/$pid/status" 2>/dev/null || echo '?')
  say "up: pid $pid on $SDK (user $LUSER) in $(( $(now_ms) - tb )) ms (whole up: $(( $(now_ms) - t0 )) ms); RSS ${rss} MB; flags: ${FLAGS:-none}"
  echo "$SDK"
}

cmd_down() {
  mkdir -p "$RUN"
  exec 9>"$STATE/.lock"
  flock -w 60 9 || die "another 'vcsim-lab.sh up/down' holds $STATE/.lock"
  local pid; pid=$(recorded_pid)
  if ours "$pid"; then stop_pid "$pid"; say "stopped pid $pid"; else say "not running${pid:+ (stale pid $pid)}"; fi
  cleanup_run
}

cmd_status() {
  local pid; pid=$(recorded_pid)
  ours "$pid" || { say "down${pid:+ (pid $pid not running)}"; return 1; }
  soap_ok 10 || { say "pid $pid alive but $SDK does not answer RetrieveServiceContent"; return 1; }
  local rss; rss=$(awk '/VmRSS/{print int($2/1024)}' "/proc/$pid/status" 2>/dev/null || echo '?')
  say "up: pid $pid on $SDK, RSS ${rss} MB, args: $(cat "$RUN/args" 2>/dev/null)"
  return 0
}

cmd_env() {
  cmd_status 2>/dev/null || die "vcsim lab is not up (run: test/lab/vcsim-lab.sh up)"
  local thumb; thumb=$(sed -n 's/.*"thumbprint": "\([^"]*\)".*/\1/p' "$RUN/vcsim.json")
  local userinfo; userinfo=$(printf '%s:%s' "$LUSER" "$LPASS")
  cat <<EOF
export GOVC_URL='$SCHEME://$userinfo@127.0.0.1:$PORT/sdk'
export GOVC_USERNAME='$LUSER' GOVC_PASSWORD='$LPASS'
export GOVC_INSECURE=1
export VCSIM_THUMBPRINT='$thumb'
export GUTS_LAB_VCSIM='$RUN/vcsim.json'
export GUTS_LAB_VCSIM_URL='$SDK'
EOF
  [[ -s $RUN/cert.pem ]] && echo "export GUTS_LAB_VCSIM_CA='$RUN/cert.pem'"
  return 0
}

cmd_bench() {
  cmd_status 2>/dev/null || die "vcsim lab is not up"
  VC_USER=$LUSER VC_PASS=$LPASS bash "$LAB/nfc-bench.sh" "$BASE" "$@"
}

cmd_flow() {  # reference/flow.mjs (Node, needs fast-xml-parser: npm-installed once into STATE/node)
  cmd_status 2>/dev/null || die "vcsim lab is not up"
  local W=$STATE/node
  mkdir -p "$W"
  if [[ ! -d $W/node_modules/fast-xml-parser ]]; then
    [[ -f $W/package.json ]] || echo '{"private":true}' >"$W/package.json"
    (cd "$W" && npm install --no-audit --no-fund fast-xml-parser@4 >&2) || die "npm install fast-xml-parser failed"
  fi
  cp "$LAB/reference/"*.mjs "$W/"
  local ca=(); [[ -s $RUN/cert.pem ]] && ca=("$RUN/cert.pem")
  (cd "$W" && VC_USER=$LUSER VC_PASS=$LPASS node flow.mjs "$BASE" "${ca[@]}")
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  build) cmd_build ;;
  bench) shift; cmd_bench "$@" ;;
  flow) cmd_flow ;;
  logs) echo "$RUN/vcsim.log"; tail -n "${2:-40}" "$RUN/vcsim.log" 2>/dev/null || true ;;
  *) sed -n '2,34p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
