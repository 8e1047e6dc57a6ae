#!/usr/bin/env bash
# openstack-lab.sh up|down|status|env|mem|verify|probe|logs
#
# A real, minimal OpenStack (Debian bookworm Zed packages, fake hypervisor, 127.0.0.1
# only) for the OpenStack driver's integration tests.  The scripts that do the work
# live in test/lab/openstack/ (up.sh, down.sh, verify.sh, bootstrap.py, pylib/); see
# test/lab/openstack/LAB-NOTES.md for ports, users, flavors, networks and quirks.
#
#   up      Idempotent.  Returns at once when the lab in the state dir already answers.
#           Otherwise installs the packages when missing (apt, needs root), writes the
#           configs, syncs the schemas, starts the services and bootstraps.  The last
#           line on stdout is the path of clouds.yaml.
#   down    Stops every lab process by PID (extra args go to down.sh, e.g. --purge).
#   status  Exit 0 when Keystone issues a token and Glance, Nova, Neutron and Cinder
#           answer an authenticated request, and no lab process has died.
#   env     Prints `export OS_CLIENT_CONFIG_FILE=...` and `export OS_CLOUD=lab-admin`;
#           use: eval "$(test/lab/openstack-lab.sh env)"
#   mem     RSS/PSS per service.      verify   runs openstack/verify.sh (IMAGE_MB=64).
#   probe   openstack/probe.py: MAC/IP ports, server from port, boot from volume.
#   logs    Lists the log files.
#
# Env: GUTS_LAB_STATE   state dir (default /var/tmp/guts-lab/openstack; not in git)
#      GUTS_LAB_UP_TIMEOUT  seconds for `up` (default 1800, apt included)
#      GUTS_LAB_CLOUD   cloud that `env` selects (default lab-admin; or lab-demo)
#      OS_LAB_*         passed on to up.sh (OS_LAB_DB, OS_LAB_PORT_OFFSET, ...)
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB=$HERE/openstack
# Debian's python3 (with the OpenStack libraries) must win over pyenv/venv shims.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
STATE=$(realpath -m "${GUTS_LAB_STATE:-/var/tmp/guts-lab/openstack}")
export GUTS_LAB_STATE=$STATE
LOGDIR=$STATE/log
UPLOG=$LOGDIR/lab-up.log

say() { printf 'openstack-lab: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# --------------------------------------------------------------------------- status
# status_check [quiet]: token from Keystone, then one authenticated GET per service,
# plus "every process in STATE/run/*.pid is alive".
status_check() {
  local quiet=${1:-}
  [[ -s $STATE/openrc ]] || { [[ -n $quiet ]] || say "no lab in $STATE (no openrc)"; return 1; }
  [[ -x /usr/bin/python3 ]] || { [[ -n $quiet ]] || say "/usr/bin/python3 missing"; return 1; }
  local dead=() f pid
  for f in "$STATE"/run/*.pid; do
    [[ -e $f ]] || continue
    pid=$(cat "$f" 2>/dev/null || true)
    [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || dead+=("$(basename "$f" .pid)")
  done
  if ((${#dead[@]})); then
    [[ -n $quiet ]] || say "process(es) not running: ${dead[*]} (logs: $LOGDIR)"
    return 1
  fi
  # shellcheck disable=SC1091
  ( set +u; source "$STATE/openrc"; QUIET=$quiet /usr/bin/python3 - <<'EOF'
import json, os, sys, time, urllib.request, urllib.error
quiet = bool(os.environ.get('QUIET'))
def out(msg):
    if not quiet:
        print(msg, file=sys.stderr)
def call(url, data=None, token=None, timeout=15):
    h = {'Content-Type': 'application/json', 'Accept': 'application/json'}
    if token:
        h['X-Auth-Token'] = token
    req = urllib.request.Request(url, data=data, headers=h)
    t0 = time.time()
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.headers, r.read(), (time.time() - t0) * 1000
e = os.environ
body = json.dumps({'auth': {'identity': {'methods': ['password'], 'password': {'user': {
    'name': e['OS_USERNAME'], 'domain': {'name': e['OS_USER_DOMAIN_NAME']},
    'password': e['OS_PASSWORD']}}}, 'scope': {'project': {'name': e['OS_PROJECT_NAME'],
    'domain': {'name': e['OS_PROJECT_DOMAIN_NAME']}}}}}).encode()
try:
    st, hd, raw, ms = call(e['OS_AUTH_URL'] + '/auth/tokens', body)
    tok = hd['X-Subject-Token']
    cat = json.loads(raw)['token']['catalog']
except Exception as ex:
    out('keystone   FAIL  token issue at %s: %s' % (e['OS_AUTH_URL'], ex))
    sys.exit(1)
out('keystone   ok    token issued in %.0f ms' % ms)
def ep(t):
    for s in cat:
        if s['type'] == t:
            for x in s['endpoints']:
                if x['interface'] == 'public':
                    return x['url'].rstrip('/')
checks = [('glance', 'image', '/v2/images?limit=1'),
          ('nova', 'compute', '/servers?limit=1'),
          ('neutron', 'network', '/v2.0/networks?name=lab-net'),
          ('cinder', 'volumev3', '/volumes?limit=1')]
bad = 0
for name, typ, path in checks:
    base = ep(typ)
    if not base:
        out('%-10s FAIL  no %s endpoint in the catalog' % (name, typ)); bad += 1; continue
    try:
        st, hd, raw, ms = call(base + path, token=tok)
        out('%-10s ok    %s %d in %.0f ms' % (name, base, st, ms))
    except Exception as ex:
        out('%-10s FAIL  %s: %s' % (name, base + path, ex)); bad += 1
sys.exit(1 if bad else 0)
EOF
  )
}

cmd_status() {
  local t0; t0=$(now_ms)
  if status_check; then
    say "lab is UP ($STATE, $(($(now_ms) - t0)) ms)"
  else
    say "lab is NOT up ($STATE)"; return 1
  fi
}

# --------------------------------------------------------------------------- up
# failure report: the tail of lab-up.log, and of the service log up.sh pointed at
show_failure() {
  say "---- last 40 lines of $UPLOG"
  tail -n 40 "$UPLOG" >&2 || true
  local f
  for f in $(sed -n '/openstack-lab.sh up$/h; /openstack-lab.sh up$/!H; ${x;p}' "$UPLOG" |
             grep -o "see $STATE/log/[^ ,]*" | tail -n 1 | cut -d' ' -f2); do
    [[ -f $f && $f != "$UPLOG" ]] || continue
    say "---- last 30 lines of $f"; tail -n 30 "$f" >&2
  done
  say "---- all logs: $LOGDIR"
}

# Another process (e.g. a lab in another state dir) on one of our ports would be
# taken for our service by up.sh's readiness checks: refuse to start instead.
check_ports() {
  local off=${OS_LAB_PORT_OFFSET:-0} busy=() name port pid l
  for l in epmd:4369 rabbitmq:5672 rabbitmq:25672 mariadb:3306 keystone:5000 glance-api:9292 \
           placement-api:8778 nova-api:8774 neutron-server:9696 cinder-api:8776; do
    name=${l%%:*}; port=$((${l#*:} + off))
    pid=$(cat "$STATE/run/$name.pid" 2>/dev/null || true)
    [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && continue   # ours, running
    if ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; then
      busy+=("$port ($name): $(ss -Hltnp "sport = :$port" | awk '{print $4, $6}' | head -n 1)")
    fi
  done
  if ((${#busy[@]})); then
    printf '  %s\n' "${busy[@]}" >&2
    die "TCP port(s) above are taken by processes that are not this lab's ($STATE); stop them, or use another OS_LAB_PORT_OFFSET"
  fi
}

cmd_up() {
  local t0; t0=$(now_ms)
  mkdir -p "$LOGDIR"
  # one `up` at a time per state dir (parallel CI jobs on one machine)
  # (the lock fd is closed for up.sh: the services it starts must not inherit it)
  exec 9>"$STATE/lab-up.lock"
  if ! flock -n 9; then
    say "another 'up' holds $STATE/lab-up.lock; waiting"
    flock -w "${GUTS_LAB_UP_TIMEOUT:-1800}" 9 || die "timed out waiting for the lock"
  fi
  if status_check quiet; then
    say "already up ($(($(now_ms) - t0)) ms)"
    echo "$STATE/clouds.yaml"; return 0
  fi
  ((EUID == 0)) || die "'up' must run as root (apt, mariadb, rabbitmq as root)"
  [[ -r /etc/debian_version ]] && grep -q '^12' /etc/debian_version ||
    say "WARNING: tested only on Debian 12 (bookworm); this is $(cat /etc/debian_version 2>/dev/null || echo unknown)"
  # Packages: up.sh installs what is missing.  Skip apt entirely when all is there;
  # refresh empty package lists first (fresh CI containers).
  if [[ -z $(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -print -quit 2>/dev/null) ]] &&
     ! dpkg-query -W -f='${Status}' keystone 2>/dev/null | grep -q 'install ok installed'; then
    say "apt package lists are empty: apt-get update"
    apt-get update -q -o DPkg::Lock::Timeout=900 >>"$LOGDIR/apt.log" 2>&1 ||
      { tail -n 20 "$LOGDIR/apt.log" >&2; die "apt-get update failed (log: $LOGDIR/apt.log)"; }
  fi
  check_ports
  say "starting the lab in $STATE (log: $UPLOG)"
  echo "=== $(date -Is) openstack-lab.sh up" >>"$UPLOG"
  local rc=0
  timeout --kill-after=30 "${GUTS_LAB_UP_TIMEOUT:-1800}" "$LAB/up.sh" "$STATE" >>"$UPLOG" 2>&1 9>&- || rc=$?
  if ((rc != 0)); then
    show_failure
    ((rc == 124)) && die "up.sh timed out after ${GUTS_LAB_UP_TIMEOUT:-1800}s"
    die "up.sh failed (exit $rc); the lab is NOT up.  Stop what started: $0 down"
  fi
  if ! status_check; then
    show_failure
    die "up.sh finished but the status check fails; the lab is NOT usable"
  fi
  grep -E '^\[up .*(installing|packages installed|up: all)' "$UPLOG" | tail -n 3 >&2 || true
  say "up in $((($(now_ms) - t0) / 1000)) s; clouds: lab-admin, lab-demo"
  echo "$STATE/clouds.yaml"
}

# --------------------------------------------------------------------------- env
cmd_env() {
  [[ -s $STATE/clouds.yaml ]] || die "no $STATE/clouds.yaml: run '$0 up' first"
  printf 'export OS_CLIENT_CONFIG_FILE=%q\n' "$STATE/clouds.yaml"
  printf 'export OS_CLOUD=%q\n' "${GUTS_LAB_CLOUD:-lab-admin}"
}

case ${1:-} in
  up) cmd_up ;;
  down) shift; "$LAB/down.sh" "$STATE" "$@" ;;
  status) cmd_status ;;
  env) cmd_env ;;
  mem) "$LAB/mem.sh" "$STATE" ;;
  verify) IMAGE_MB=${IMAGE_MB:-64} "$LAB/verify.sh" "$STATE" ;;
  probe) OS_CLIENT_CONFIG_FILE=$STATE/clouds.yaml /usr/bin/python3 "$LAB/probe.py" ;;
  logs) ls -la "$LOGDIR" ;;
  *) sed -n '2,/^[^#]/{/^#/p}' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
