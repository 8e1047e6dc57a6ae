#!/usr/bin/env bash
# Smoke test of the single executable (dist/guts, `npm run build:binary`). Called by .ci/run.
# Builds the binary, copies it into a temp dir (so nothing next to it — dist/, node_modules,
# package.json — can help it), then runs it with a temp GUTS_DATA_DIR and XDG dirs.
# Prints each check; exits non-zero if any fails.
#   SKIP_BUILD=1  use the existing dist/guts
set -uo pipefail
cd "$(dirname "$0")/.."

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export GUTS_DATA_DIR="$T/data" XDG_DATA_HOME="$T/xdg/data" XDG_CONFIG_HOME="$T/xdg/config" XDG_CACHE_HOME="$T/xdg/cache" XDG_STATE_HOME="$T/xdg/state"
mkdir -p "$GUTS_DATA_DIR" "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$XDG_STATE_HOME" "$T/bin" "$T/plans"
unset NODE_ENV

passed=0 failed=0
ok() { echo "  ok   $*"; passed=$((passed + 1)); }
ko() { echo "  FAIL $*"; failed=$((failed + 1)); }
show() { sed 's/^/       | /' "$1" | head -n "${2:-15}"; }

if [ -z "${SKIP_BUILD:-}" ]; then
  echo "== npm run build:binary"
  npm run build:binary --silent || { echo "binary smoke: build failed"; exit 1; }
fi
[ -x dist/guts ] || { echo "binary smoke: dist/guts missing"; exit 1; }
cp dist/guts "$T/bin/guts"
GUTS="$T/bin/guts"
echo "== checking $GUTS (a copy of dist/guts, $(du -m dist/guts | cut -f1) MiB)"

# run NAME EXPECTED_RC ARGS… → output in $T/out (stdout+stderr)
run() {
  local name=$1 want=$2; shift 2
  "$GUTS" "$@" >"$T/out" 2>&1
  rc=$?
  if [ "$rc" -eq "$want" ]; then return 0; fi
  ko "$name: \`guts $*\` exited $rc, expected $want"; show "$T/out"; return 1
}

if run "--version" 0 --version; then
  grep -q '^guts/' "$T/out" && ok "guts --version: $(head -1 "$T/out")" || { ko "guts --version does not print guts/<version>"; show "$T/out"; }
fi

if run "--help" 0 --help; then
  if grep -Eq '^ +migrate ' "$T/out" && grep -Eq '^ +plan ' "$T/out"; then ok "guts --help lists the migrate command and the plan topic"
  else ko "guts --help does not list migrate / plan"; show "$T/out" 40; fi
fi

if run "plan validate --help" 0 plan validate --help; then
  grep -q 'plan validate' "$T/out" && ok "guts plan validate --help" || { ko "guts plan validate --help"; show "$T/out"; }
fi

if run "plan schema" 0 plan schema; then
  if node -e 'const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); if (!s.properties || !s.properties.vms) process.exit(1)' "$T/out"
  then ok "guts plan schema prints a JSON Schema with properties.vms"
  else ko "guts plan schema output is not the plan JSON Schema"; show "$T/out"; fi
fi

if run "drivers list" 0 drivers list; then
  if grep -Eq '^files +source' "$T/out" && grep -Eq '^hyperv +source' "$T/out" && grep -Eq '^local +destination' "$T/out" && grep -Eq '^openstack +destination' "$T/out"; then ok "guts drivers list shows files and hyperv (sources), local and openstack (destinations)"
  else ko "guts drivers list does not show files, local and openstack"; show "$T/out"; fi
fi

cat >"$T/plans/bad.yaml" <<'YAML'
version: 1
name: bad
source:
  driver: files
  path: sample.ova
destination:
  driver: local
  directory: out
policy:
  concurrency: lots
colour: blue
vms:
  - name: sample
YAML
if run "plan validate (bad plan)" 2 plan validate "$T/plans/bad.yaml"; then
  if grep -Eq 'bad\.yaml:10:[0-9]+ .*concurrency' "$T/out" && grep -Eq 'bad\.yaml:11:1 .*colour' "$T/out"
  then ok "guts plan validate <bad plan> exits 2 with line:col for the wrong type (10:…) and the unknown key (11:1)"
  else ko "guts plan validate <bad plan> output lacks file:line:col issues"; show "$T/out"; fi
fi

if run "plan validate (quickstart plan)" 0 plan validate examples/quickstart.yaml; then
  ok "guts plan validate examples/quickstart.yaml exits 0 (drivers' own option checks load inside the binary)"
fi

if run "doctor" 0 doctor; then
  grep -q 'qemu-img' "$T/out" && ok "guts doctor runs and checks qemu-img" || { ko "guts doctor output lacks qemu-img"; show "$T/out"; }
fi

if run "migration list" 0 migration list; then
  ok "guts migration list opens the state store (bun:sqlite)"
fi

if [ -f scripts/quickstart.sh ]; then
  echo "== quickstart with the binary: GUTS_BIN=$GUTS SKIP_INSTALL=1 bash scripts/quickstart.sh"
  if GUTS_BIN="$GUTS" SKIP_INSTALL=1 bash scripts/quickstart.sh >"$T/qs" 2>&1; then
    ok "quickstart with the binary (migrated and verified)"
    if run "migration list (after quickstart)" 0 migration list; then
      grep -q 'quickstart' "$T/out" && ok "guts migration list shows the quickstart migration from the state store" || { ko "guts migration list does not show the quickstart migration"; show "$T/out"; }
    fi
  else
    ko "quickstart with the binary failed"; tail -n 25 "$T/qs" | sed 's/^/       | /'
  fi
else
  echo "  skip quickstart: scripts/quickstart.sh not found"
fi

# The vmware plugin inside the binary, against the vCenter simulator when it is up (CI starts it):
# TLS pinning, vm list, and a snapshot export of a running model VM (the snapshot is removed again).
if [ -n "${GUTS_LAB_VCSIM:-}" ] && [ -f "$GUTS_LAB_VCSIM" ]; then
  read -r VC_URL VC_USER VC_PASS VC_TP < <(node -e 'const l = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(l.url, l.username, l.password, l.thumbprint)' "$GUTS_LAB_VCSIM")
  cat >"$T/plans/vc.yaml" <<YAML
version: 1
name: binary-vmware
source: { driver: vmware, url: "$VC_URL", username: "$VC_USER", password: "\${env:SMOKE_VC_PASSWORD}", thumbprint: "$VC_TP" }
destination: { driver: local, directory: out }
vms:
  - name: DC0_H0_VM0
    mode: snapshot
YAML
  export SMOKE_VC_PASSWORD="$VC_PASS"
  if run "vm list (vmware)" 0 vm list --source "$T/plans/vc.yaml" --name 'DC0_H0_*'; then
    grep -q '^DC0_H0_VM0 ' "$T/out" && ok "guts vm list --source <vmware plan> (TLS pinned by thumbprint)" || { ko "guts vm list does not list DC0_H0_VM0"; show "$T/out"; }
  fi
  if run "migrate (vmware snapshot -> local)" 0 migrate "$T/plans/vc.yaml"; then
    [ -s "$T/plans/out/DC0_H0_VM0/DC0_H0_VM0-disk0.qcow2" ] && ok "guts migrate: vmware snapshot export of a running VM -> local qcow2" || { ko "no qcow2 from the vmware migration"; show "$T/out" 30; }
  fi
  unset SMOKE_VC_PASSWORD
elif [ -n "${CI:-}" ]; then
  ko "GUTS_LAB_VCSIM is not set in CI: the vmware plugin inside the binary was not checked"
else
  echo "  skip vmware: no vcsim lab (GUTS_LAB_VCSIM)"
fi

# The hyperv plugin inside the binary (ssh2 on bun, without its native addons), against the Hyper-V
# lab when it is up (CI starts it): host key pinned, vm list, and a cold export of a VM that is off.
if [ -n "${GUTS_LAB_HYPERV:-}" ] && [ -f "$GUTS_LAB_HYPERV" ]; then
  read -r HV_HOST HV_PORT HV_USER HV_KEY HV_FP < <(node -e 'const l = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(l.host, l.port, l.username, l.privateKeyPath, l.hostKeyFingerprint)' "$GUTS_LAB_HYPERV")
  cat >"$T/plans/hv.yaml" <<YAML
version: 1
name: binary-hyperv
source: { driver: hyperv, host: "$HV_HOST", port: $HV_PORT, username: "$HV_USER", privateKey: "$HV_KEY", hostKey: "$HV_FP" }
destination: { driver: local, directory: out-hv }
vms:
  - name: legacy01
    mode: cold
YAML
  if run "vm list (hyperv)" 0 vm list --source "$T/plans/hv.yaml" --name 'legacy*'; then
    grep -q '^legacy01 ' "$T/out" && ok "guts vm list --source <hyperv plan> (SSH host key pinned)" || { ko "guts vm list does not list legacy01"; show "$T/out"; }
  fi
  if run "migrate (hyperv cold -> local)" 0 migrate "$T/plans/hv.yaml"; then
    [ -s "$T/plans/out-hv/legacy01/legacy01-disk0.qcow2" ] && ok "guts migrate: hyperv cold export of a VHD over SFTP -> local qcow2" || { ko "no qcow2 from the hyperv migration"; show "$T/out" 30; }
  fi
elif [ -n "${CI:-}" ]; then
  ko "GUTS_LAB_HYPERV is not set in CI: the hyperv plugin inside the binary was not checked"
else
  echo "  skip hyperv: no Hyper-V lab (GUTS_LAB_HYPERV)"
fi

# The PostgreSQL state store inside the binary (postgres.js under bun), when the lab is up (CI starts it).
if [ -n "${GUTS_LAB_POSTGRES:-}" ]; then
  PG_SCHEMA="smoke_$$"
  if GUTS_DATABASE_URL="$GUTS_LAB_POSTGRES?schema=$PG_SCHEMA" run "migration list (postgres)" 0 migration list; then
    ok "guts migration list with GUTS_DATABASE_URL=postgres://… (schema $PG_SCHEMA)"
  fi
  psql "$GUTS_LAB_POSTGRES" -qc "DROP SCHEMA IF EXISTS $PG_SCHEMA CASCADE" >/dev/null 2>&1 || true
elif [ -n "${CI:-}" ]; then
  ko "GUTS_LAB_POSTGRES is not set in CI: the PostgreSQL store inside the binary was not checked"
fi

# guts serve inside the binary (fastify under bun): health, the OpenAPI document, a clean SIGTERM.
# (node's fetch, not curl: a fresh machine may have no curl.)
get() { node -e 'fetch(process.argv[1]).then(async (r) => { process.stdout.write(await r.text()); process.exit(r.ok ? 0 : 1) }, () => process.exit(1))' "$1"; }
SERVE_PORT=$((17000 + $$ % 1000))
GUTS_DATA_DIR="$T/serve-data" "$GUTS" serve --no-auth --port "$SERVE_PORT" >"$T/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 50); do get "http://127.0.0.1:$SERVE_PORT/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
if get "http://127.0.0.1:$SERVE_PORT/healthz" | grep -q '"ok"' && get "http://127.0.0.1:$SERVE_PORT/openapi.json" | grep -q '"openapi":"3.1.0"'; then
  kill -TERM "$SERVE_PID"; wait "$SERVE_PID" && ok "guts serve: /healthz, /openapi.json, SIGTERM exit 0" || { ko "guts serve did not exit 0 on SIGTERM"; show "$T/serve.log"; }
else
  kill -KILL "$SERVE_PID" 2>/dev/null; ko "guts serve did not answer /healthz and /openapi.json"; show "$T/serve.log"
fi

echo "binary smoke: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
