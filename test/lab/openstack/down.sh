#!/usr/bin/env bash
# down.sh [STATE_DIR] [--purge | NAME...]
# Stop every process that up.sh started, by the PIDs in STATE_DIR/run/*.pid, or only
# the named ones (e.g. "glance-api"; a later up.sh starts them again).  Idempotent.
# Each service was started with setsid, so its PID is also its process-group id: the
# group is signalled, which reaches forked workers (uwsgi, oslo.service, beam children).
# --purge also deletes STATE_DIR.
set -uo pipefail
STATE=$(realpath -m "${1:-${GUTS_LAB_STATE:-${OS_LAB_STATE:-/var/tmp/guts-lab/openstack}}}")
shift || true
PURGE=0; ONLY=()
for a in "$@"; do if [[ $a == --purge ]]; then PURGE=1; else ONLY+=("$a"); fi; done
RUN=$STATE/run
if [[ ! -d $RUN ]]; then
  echo "nothing to stop in $STATE"
else
  alive() { kill -0 "$1" 2>/dev/null || pgrep -g "$1" >/dev/null 2>&1; }
  stop_batch() { # NAME... : TERM all, wait up to 15 s, then KILL what is left
    local n pid pids=() names=() i left
    for n in "$@"; do
      [[ -e $RUN/$n.pid ]] || continue
      if ((${#ONLY[@]})) && [[ " ${ONLY[*]} " != *" $n "* ]]; then continue; fi
      pid=$(cat "$RUN/$n.pid" 2>/dev/null)
      if [[ $pid =~ ^[0-9]+$ ]] && alive "$pid"; then
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
        pids+=("$pid"); names+=("$n")
      else
        rm -f "$RUN/$n.pid"
      fi
    done
    for ((i = 0; i < 60; i++)); do
      left=0; for pid in "${pids[@]}"; do alive "$pid" && left=1; done
      ((left)) || break; sleep 0.25
    done
    for i in "${!pids[@]}"; do
      pid=${pids[$i]}; n=${names[$i]}
      if alive "$pid"; then
        kill -KILL -- "-$pid" 2>/dev/null; kill -KILL "$pid" 2>/dev/null
        echo "killed $n (pid $pid, SIGKILL after 15 s)"
      else
        echo "stopped $n (pid $pid)"
      fi
      rm -f "$RUN/$n.pid"
    done
  }
  known="nova-compute nova-api nova-scheduler nova-conductor cinder-volume cinder-scheduler"
  known+=" cinder-api neutron-server placement-api glance-api keystone"
  others=()
  for f in "$RUN"/*.pid; do
    [[ -e $f ]] || continue; n=$(basename "$f" .pid)
    [[ " $known rabbitmq mariadb epmd " == *" $n "* ]] || others+=("$n")
  done
  # shellcheck disable=SC2086
  stop_batch $known "${others[@]}"   # OpenStack services first (they talk to rabbit)
  stop_batch rabbitmq mariadb
  stop_batch epmd
fi
if ((PURGE)); then rm -rf "$STATE" && echo "purged $STATE"; fi
exit 0
