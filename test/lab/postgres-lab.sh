#!/usr/bin/env bash
# postgres-lab.sh up|down|status|env|psql|logs
#
# A private PostgreSQL cluster (Debian's `postgresql` package; not the Debian system cluster
# or service) on 127.0.0.1 for the tests of the PostgreSQL state store.  See
# test/lab/postgres/LAB-NOTES.md.
#
#   up      Idempotent.  apt-installs `postgresql` when its binaries are missing (apt-get
#           update only when the package lists are empty), runs initdb into the state dir
#           the first time, then starts the cluster with pg_ctl unless the recorded
#           postmaster is alive, is ours, runs the current settings and answers.  A dead
#           (kill -9) or hung one is cleaned up (its orphaned children, postmaster.pid,
#           socket lock) and restarted.  Refuses when another process holds the port.
#           Makes role `guts` (password `guts-lab`, LOGIN CREATEDB) and database `guts`.
#           Prints timings on stderr; last line on stdout: the connection URL.
#   down    pg_ctl stop -m fast (then -m immediate, then SIGKILL).  `down --purge` also
#           deletes the state dir.
#   status  Exit 0 when pg_isready and `select 1` as guts over TCP (password) both answer.
#   env     export GUTS_LAB_POSTGRES='postgres://guts:guts-lab@127.0.0.1:55432/guts'
#           use: eval "$(test/lab/postgres-lab.sh env)"   (fails when the lab is not up)
#   psql    psql as guts to database guts (extra args go to psql).
#   logs    Prints the server log's path and its last lines.
#
# Env: GUTS_LAB_STATE_POSTGRES    state dir (default /var/tmp/guts-lab/postgres; not in git):
#                                 data/ (PGDATA), run/ (unix socket), log/{postgres.log,apt.log}
#      GUTS_LAB_POSTGRES_PORT     default 55432 (127.0.0.1 only)
#      GUTS_LAB_POSTGRES_TIMEOUT  seconds pg_ctl waits for the start (default 120)
set -Eeuo pipefail
umask 022

STATE=$(realpath -m "${GUTS_LAB_STATE_POSTGRES:-/var/tmp/guts-lab/postgres}")
export GUTS_LAB_STATE_POSTGRES=$STATE
DATA=$STATE/data
RUN=$STATE/run
LOGDIR=$STATE/log
LOG=$LOGDIR/postgres.log
PORT=${GUTS_LAB_POSTGRES_PORT:-55432}
TIMEOUT=${GUTS_LAB_POSTGRES_TIMEOUT:-120}
LUSER=guts LPASS=guts-lab LDB=guts
URL="postgres://$LUSER:$LPASS@127.0.0.1:$PORT/$LDB"
# The OS user that owns and runs the cluster: `postgres` when we are root (initdb and the
# server refuse to run as root), else the caller.  The cluster's superuser has the same
# name and logs in only by peer auth over the unix socket.
if ((EUID == 0)); then OSUSER=postgres; else OSUSER=$(id -un); fi

say() { printf 'postgres-lab: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
[[ $PORT =~ ^[0-9]+$ ]] && ((PORT > 0 && PORT < 65536)) || die "GUTS_LAB_POSTGRES_PORT=$PORT is not a port"

as_pg() {  # run a command as the cluster's OS user, from a directory it can read
  if ((EUID == 0)); then (cd "$STATE" && runuser -u "$OSUSER" -- "$@")
  else (cd "$STATE" && "$@"); fi
}

# --------------------------------------------------------------------------- binaries
PGBIN=""
find_bin() {  # PGBIN = /usr/lib/postgresql/<ver>/bin: the data dir's version, else the newest
  local v=""
  [[ -s $DATA/PG_VERSION ]] && v=$(cat "$DATA/PG_VERSION")
  if [[ -n $v ]]; then
    PGBIN=/usr/lib/postgresql/$v/bin
  else
    v=$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/initdb' 2>/dev/null |
        awk -F/ '{print $(NF-2)}' | sort -n | tail -n1)
    PGBIN=${v:+/usr/lib/postgresql/$v/bin}
  fi
  local b
  for b in initdb pg_ctl postgres psql pg_isready; do [[ -x $PGBIN/$b ]] || return 1; done
}

install_pkg() {  # apt-get install postgresql (root); stops a system cluster the install started
  ((EUID == 0)) || die "PostgreSQL is not installed and only root can apt-get install it"
  local t0; t0=$(now_ms)
  export DEBIAN_FRONTEND=noninteractive
  if [[ -z $(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -print -quit 2>/dev/null) ]]; then
    say "apt package lists are empty: apt-get update"
    apt-get update -q -o DPkg::Lock::Timeout=900 >>"$LOGDIR/apt.log" 2>&1 ||
      { tail -n 20 "$LOGDIR/apt.log" >&2; die "apt-get update failed (log: $LOGDIR/apt.log)"; }
  fi
  local before; before=$(pg_lsclusters -h 2>/dev/null | awk '$4 == "online" {print $1 "/" $2}' || true)
  say "installing postgresql (apt log: $LOGDIR/apt.log)"
  apt-get -o DPkg::Lock::Timeout=900 -y --no-install-recommends install postgresql >>"$LOGDIR/apt.log" 2>&1 ||
    { tail -n 20 "$LOGDIR/apt.log" >&2; die "apt-get install postgresql failed (log: $LOGDIR/apt.log)"; }
  # The package creates the system cluster <ver>/main; where services may start (no
  # policy-rc.d) it also starts it on 5432.  The lab does not use it: stop what we started.
  local c
  for c in $(pg_lsclusters -h 2>/dev/null | awk '$4 == "online" {print $1 "/" $2}' || true); do
    grep -qxF "$c" <<<"$before" && continue
    say "stopping the Debian system cluster $c that the install started (the lab does not use it)"
    pg_ctlcluster "${c%/*}" "${c#*/}" stop >&2 || say "WARNING: could not stop system cluster $c"
  done
  say "apt: postgresql installed in $(($(now_ms) - t0)) ms"
}

# --------------------------------------------------------------------------- processes
# Every server process (postmaster and children) has the data dir as its cwd.
data_pids() {  # one find (~10 ms), not one readlink per process
  find /proc -mindepth 2 -maxdepth 2 -name cwd -lname "$DATA" 2>/dev/null | cut -d/ -f3 || true
}
recorded_pid() { head -n1 "$DATA/postmaster.pid" 2>/dev/null || true; }
ours() {  # ours PID: alive, a postgres binary, cwd = our data dir (guards against pid reuse)
  local pid=$1
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  [[ $(readlink "/proc/$pid/cwd" 2>/dev/null) == "$DATA" ]] || return 1
  [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == */bin/postgres* ]]
}
listener() { ss -Hltnp "sport = :$PORT" 2>/dev/null | head -n3; }
rss_mb() { awk '/VmRSS/{print int($2/1024)}' "/proc/$1/status" 2>/dev/null || echo '?'; }

# kill_leftovers: processes of a dead postmaster (they hold the shared memory segment, so
# a new postmaster would refuse to start; they normally exit by themselves within ms):
# TERM (+CONT for stopped ones), 3 s, KILL.
kill_leftovers() {
  local pids; pids=$(data_pids)
  [[ -n $pids ]] || return 0
  # shellcheck disable=SC2086
  say "leftover server processes of a dead postmaster: $(echo $pids); SIGTERM"
  # shellcheck disable=SC2086
  { kill -TERM $pids; kill -CONT $pids; } 2>/dev/null || true
  for _ in $(seq 1 30); do [[ -z $(data_pids) ]] && return 0; sleep 0.1; done
  pids=$(data_pids); say "still alive after 3 s: $(echo $pids); SIGKILL"
  kill -KILL $pids 2>/dev/null || true
  for _ in $(seq 1 50); do [[ -z $(data_pids) ]] && return 0; sleep 0.1; done
  die "cannot get rid of server processes $(echo $pids) in $DATA"
}

clean_stale() {  # postmaster.pid and socket lock files whose pid is not our live postmaster
  local f pid
  for f in "$DATA/postmaster.pid" "$RUN"/.s.PGSQL.*.lock; do
    [[ -e $f ]] || continue
    pid=$(head -n1 "$f" 2>/dev/null || true)
    ours "$pid" && continue
    say "removing stale $(basename "$f") (pid ${pid:-?} is not our running postmaster)"
    rm -f "$f"
  done
  rm -f "$RUN"/.s.PGSQL.*[0-9]  # sockets without a lock (the server re-creates them)
}

stop_server() {  # pg_ctl stop -m fast (20 s); -m immediate (5 s); then SIGKILL what is left
  local pid=$1
  as_pg "$PGBIN/pg_ctl" -D "$DATA" -m fast -w -t 20 stop >&2 ||
    { say "fast stop failed; -m immediate"; as_pg "$PGBIN/pg_ctl" -D "$DATA" -m immediate -w -t 5 stop >&2 || true; }
  if ours "$pid"; then say "postmaster $pid still alive; SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; sleep 0.2; fi
  kill_leftovers
}

# --------------------------------------------------------------------------- checks
# ready [secs]: pg_isready's status: 0 accepting, 1 rejecting (starting, recovering), 2 no answer
ready() { "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -d "$LDB" -t "${1:-5}" >/dev/null 2>&1; }
select1() {  # select 1 as guts over TCP with the password
  [[ $(PGCONNECT_TIMEOUT=${1:-5} "$PGBIN/psql" "$URL" -XAtqc 'select 1' 2>/dev/null) == 1 ]]
}

# The settings `up` enforces.  A running cluster whose settings differ is restarted.
render_conf() {
  cat <<EOF
# Written by test/lab/postgres-lab.sh on every 'up'; edits are overwritten.
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$RUN'
password_encryption = 'scram-sha-256'
max_connections = 100
shared_buffers = 32MB
# throwaway test data: no durability against a host crash (a killed server recovers fine)
fsync = off
synchronous_commit = off
full_page_writes = off
timezone = 'UTC'
log_timezone = 'UTC'
log_line_prefix = '%m [%p] %q%u@%d '
EOF
}
render_hba() {
  cat <<EOF
# Written by test/lab/postgres-lab.sh on every 'up'; edits are overwritten.
# TYPE  DATABASE  USER        ADDRESS       METHOD
local   all       $OSUSER     peer
local   all       all                       scram-sha-256
host    all       all         127.0.0.1/32  scram-sha-256
EOF
}
conf_current() {
  [[ "$(cat "$DATA/guts-lab.conf" 2>/dev/null)" == "$(render_conf)" &&
     "$(cat "$DATA/pg_hba.conf" 2>/dev/null)" == "$(render_hba)" ]]
}
write_conf() {
  render_conf >"$DATA/guts-lab.conf"
  render_hba >"$DATA/pg_hba.conf"
  grep -qxF "include 'guts-lab.conf'" "$DATA/postgresql.conf" ||
    printf '\n# guts lab settings (port, socket dir, auth, durability)\ninclude %s\n' "'guts-lab.conf'" >>"$DATA/postgresql.conf"
  ((EUID == 0)) && chown "$OSUSER:" "$DATA/guts-lab.conf" "$DATA/pg_hba.conf"
  chmod 600 "$DATA/guts-lab.conf" "$DATA/pg_hba.conf"
}

# up_state: 0 = ours, current and answering; 1 = not running; 2 = running but must be restarted
up_state() {
  local pid; pid=$(recorded_pid)
  ours "$pid" || return 1
  conf_current || { say "postmaster $pid runs other settings (port, socket, auth); restarting"; return 2; }
  # one that is starting or recovering rejects connections for a while: wait up to 60 s;
  # one that does not answer at all 3 times in a row (2 s each) is hung
  local i rc silent=0
  for i in $(seq 1 60); do
    rc=0; ready 2 || rc=$?
    ((rc == 0)) && return 0
    if ((rc == 1)); then silent=0; else silent=$((silent + 1)); fi
    ((silent >= 3)) && break
    sleep 1
  done
  say "postmaster $pid is alive but 127.0.0.1:$PORT does not accept connections (pg_isready status $rc; hung?); restarting"
  return 2
}

bootstrap() {  # role guts (LOGIN CREATEDB, password) and database guts; idempotent
  as_pg "$PGBIN/psql" -XAtq -v ON_ERROR_STOP=1 -h "$RUN" -p "$PORT" -U "$OSUSER" -d postgres \
    -v u="$LUSER" -v p="$LPASS" -v d="$LDB" >/dev/null <<'SQL'
SELECT format('CREATE ROLE %I', :'u') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'u') \gexec
SELECT format('ALTER ROLE %I LOGIN CREATEDB NOSUPERUSER PASSWORD %L', :'u', :'p') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'d', :'u') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'d') \gexec
SQL
}

# --------------------------------------------------------------------------- commands
cmd_up() {
  local t0 t pid; t0=$(now_ms)
  mkdir -p "$STATE" "$LOGDIR"
  exec 9>"$STATE/.lock"
  if ! flock -n 9; then
    say "another 'up'/'down' holds $STATE/.lock; waiting"
    flock -w 900 9 || die "timed out waiting for $STATE/.lock"
  fi
  if ! find_bin; then
    if [[ -s $DATA/PG_VERSION ]] && compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
      die "$DATA was made by PostgreSQL $(cat "$DATA/PG_VERSION"), whose binaries are not installed; start afresh: $0 down --purge"
    fi
    install_pkg
    find_bin || die "postgresql installed, but no /usr/lib/postgresql/<ver>/bin with initdb, pg_ctl, postgres, psql, pg_isready"
  else
    say "apt: postgresql already installed ($PGBIN), skipped"
  fi
  local st=0; up_state || st=$?
  if ((st == 0)); then
    if select1; then
      say "already up: postmaster $(recorded_pid) on 127.0.0.1:$PORT ($(($(now_ms) - t0)) ms)"
      echo "$URL"; return 0
    fi
    say "the server answers but '$LUSER' cannot log in; repairing role/database"
    bootstrap || die "bootstrap of role $LUSER / database $LDB failed"
    select1 || die "'select 1' as $LUSER on $URL fails after the bootstrap"
    say "repaired: $LUSER logs in ($(($(now_ms) - t0)) ms)"
    echo "$URL"; return 0
  fi
  if ((st == 2)); then stop_server "$(recorded_pid)"; fi
  local old; old=$(recorded_pid)
  ((st == 1)) && [[ -n $old ]] && say "recorded postmaster $old is not running (killed? pid reused?); cleaning up and restarting"
  kill_leftovers
  mkdir -p "$RUN"
  clean_stale
  if [[ -n $(listener) ]]; then
    die "port $PORT is taken by another process: $(listener) — stop it or set GUTS_LAB_POSTGRES_PORT"
  fi
  local sock=$RUN/.s.PGSQL.$PORT
  ((${#sock} <= 100)) || die "unix socket path $sock is too long (max ~100 bytes): use a shorter GUTS_LAB_STATE_POSTGRES"
  ((EUID == 0)) && chown "$OSUSER:" "$RUN" "$LOGDIR"
  if [[ ! -s $DATA/PG_VERSION ]]; then
    if [[ -d $DATA ]] && [[ -n $(ls -A "$DATA") ]]; then
      die "$DATA is not empty but holds no cluster (a failed initdb?); remove it: $0 down --purge"
    fi
    mkdir -p "$DATA"; chmod 700 "$DATA"
    ((EUID == 0)) && chown "$OSUSER:" "$DATA"
    as_pg test -w "$DATA" || die "user $OSUSER cannot write $DATA: make its parent dirs searchable (chmod o+x)"
    t=$(now_ms)
    as_pg "$PGBIN/initdb" -D "$DATA" -U "$OSUSER" --auth-local=peer --auth-host=scram-sha-256 \
      -E UTF8 --no-locale --no-sync --no-instructions >>"$LOGDIR/initdb.log" 2>&1 ||
      { tail -n 20 "$LOGDIR/initdb.log" >&2; die "initdb failed (log: $LOGDIR/initdb.log)"; }
    say "initdb: $DATA ($("$PGBIN/postgres" --version | awk '{print $3}')) in $(($(now_ms) - t)) ms"
  fi
  [[ $(stat -c %U "$DATA") == "$OSUSER" ]] || die "$DATA belongs to $(stat -c %U "$DATA"), not $OSUSER: run as the same user, or $0 down --purge"
  write_conf
  t=$(now_ms)
  echo "=== $(date -Is) postgres-lab.sh up: pg_ctl start" >>"$LOG"; ((EUID == 0)) && chown "$OSUSER:" "$LOG"
  # setsid: the server is not killed with the caller's process group; 9>&-: it must not
  # inherit the lock fd (it would hold the lock for its lifetime)
  if ! as_pg setsid "$PGBIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t "$TIMEOUT" start >/dev/null 2>>"$LOGDIR/pg_ctl.log" 9>&-; then
    say "---- last 30 lines of $LOG"; tail -n 30 "$LOG" >&2
    tail -n 5 "$LOGDIR/pg_ctl.log" >&2
    pid=$(recorded_pid); ours "$pid" && stop_server "$pid"
    die "PostgreSQL did not start on 127.0.0.1:$PORT within ${TIMEOUT}s (log: $LOG)"
  fi
  pid=$(recorded_pid)
  say "start: pg_ctl start -w in $(($(now_ms) - t)) ms (postmaster $pid)"
  t=$(now_ms)
  bootstrap || die "bootstrap of role $LUSER / database $LDB failed (log: $LOG)"
  select1 10 || die "the server is up but 'select 1' as $LUSER on $URL fails (log: $LOG)"
  say "role/db + login check: $(($(now_ms) - t)) ms"
  say "up: postmaster $pid on 127.0.0.1:$PORT (user $LUSER, db $LDB) in $(($(now_ms) - t0)) ms whole up; RSS $(rss_mb "$pid") MB"
  echo "$URL"
}

cmd_down() {
  local purge=""
  [[ ${1:-} == --purge ]] && purge=1
  [[ -d $STATE ]] || { say "no state dir $STATE: nothing to do"; return 0; }
  exec 9>"$STATE/.lock"
  flock -w 120 9 || die "another 'up'/'down' holds $STATE/.lock"
  local pid t0; pid=$(recorded_pid); t0=$(now_ms)
  if ours "$pid"; then
    find_bin || die "no PostgreSQL binaries for $DATA"
    stop_server "$pid"; say "stopped postmaster $pid in $(($(now_ms) - t0)) ms"
  else
    say "not running${pid:+ (stale postmaster.pid names $pid)}"
    kill_leftovers
    [[ -d $RUN ]] && clean_stale
  fi
  if [[ -n $purge ]]; then rm -rf "$STATE"; say "removed $STATE"; fi
}

cmd_status() {
  local pid; pid=$(recorded_pid)
  ours "$pid" || { say "down${pid:+ (postmaster.pid names $pid, which is not our running postmaster)}"; return 1; }
  find_bin || { say "no PostgreSQL binaries for $DATA"; return 1; }
  ready 5 || { say "postmaster $pid alive but 127.0.0.1:$PORT does not accept connections (pg_isready)"; return 1; }
  select1 10 || { say "postmaster $pid answers but 'select 1' as $LUSER fails"; return 1; }
  say "up: postmaster $pid on 127.0.0.1:$PORT, PostgreSQL $(cat "$DATA/PG_VERSION"), $(data_pids | wc -l) processes, postmaster RSS $(rss_mb "$pid") MB"
}

cmd_env() {
  cmd_status 2>/dev/null || die "the PostgreSQL lab is not up (run: $0 up)"
  echo "export GUTS_LAB_POSTGRES='$URL'"
}

case "${1:-}" in
  up) cmd_up ;;
  down) shift; cmd_down "$@" ;;
  status) cmd_status ;;
  env) cmd_env ;;
  psql) shift; find_bin || die "PostgreSQL is not installed"; exec "$PGBIN/psql" "$URL" "$@" ;;
  logs) echo "$LOG"; tail -n "${2:-40}" "$LOG" 2>/dev/null || true ;;
  *) sed -n '2,/^[^#]/{/^#/p}' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
