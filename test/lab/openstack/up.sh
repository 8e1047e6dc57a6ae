#!/usr/bin/env bash
# up.sh [STATE_DIR]
#
# Bring up a minimal, real OpenStack (Debian bookworm = Zed) on 127.0.0.1 only:
#   RabbitMQ, Keystone, Glance, Placement, Nova (fake virt driver),
#   Neutron (ML2, agentless "lab_noop" mechanism driver), Cinder (file backend).
# Databases: a private mariadbd under STATE_DIR (default) or SQLite files (OS_LAB_DB=sqlite).
# Services are plain processes (no systemd), each in its own session (setsid); PIDs
# are in STATE_DIR/run/*.pid, logs in STATE_DIR/log/.  Stop with down.sh STATE_DIR.
# Idempotent: a second run only starts what is not running (schema syncs are done once
# per state dir).  Needs root and Debian bookworm with `apt-get update` done.
#
# Env knobs:
#   OS_LAB_SERVICES   subset of "keystone glance placement nova neutron cinder"
#                     (keystone is required; rabbitmq starts for nova/neutron/cinder)
#   OS_LAB_DB         mariadb (default) | sqlite  (use a fresh STATE_DIR to switch)
#   OS_LAB_SKIP_INSTALL=1   do not call apt-get
#   OS_LAB_PASSWORD   password of every user (default: lab-secret)
#   OS_LAB_PORT_OFFSET  added to every TCP port (default 0), to run two labs side by side
#
# Output: STATE_DIR/clouds.yaml (clouds lab-admin, lab-demo) and STATE_DIR/openrc
# (also printed at the end).
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Debian's python3 and console scripts must win over pyenv/venv shims.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
unset PYTHONPATH PYTHONHOME VIRTUAL_ENV
PY=/usr/bin/python3
STATE=$(realpath -m "${1:-${GUTS_LAB_STATE:-${OS_LAB_STATE:-/var/tmp/guts-lab/openstack}}}")
SERVICES=${OS_LAB_SERVICES:-"keystone glance placement nova neutron cinder"}
# mariadb (default; a private mariadbd on 127.0.0.1) or sqlite (smaller, but nova/cinder
# hit "database is locked" under concurrent requests, see the report)
DBKIND=${OS_LAB_DB:-mariadb}
PW=${OS_LAB_PASSWORD:-lab-secret}
OFF=${OS_LAB_PORT_OFFSET:-0}
H=127.0.0.1
KS_PORT=$((5000 + OFF)); GLANCE_PORT=$((9292 + OFF)); PLACEMENT_PORT=$((8778 + OFF))
NOVA_PORT=$((8774 + OFF)); NEUTRON_PORT=$((9696 + OFF)); CINDER_PORT=$((8776 + OFF))
RABBIT_PORT=$((5672 + OFF)); EPMD_PORT=$((4369 + OFF)); RABBIT_DIST_PORT=$((25672 + OFF))
DB_PORT=$((3306 + OFF))
KS_URL=http://$H:$KS_PORT
TRANSPORT_URL="rabbit://guest:guest@$H:$RABBIT_PORT/"
PYLIB=$HERE/pylib

ETC=$STATE/etc; RUN=$STATE/run; LOG=$STATE/log; DB=$STATE/db; LIB=$STATE/lib
# SQLite: 60 s busy timeout (python's default is 5 s); files are switched to WAL below.
sqlite_url() { echo "sqlite:///$DB/$1.sqlite?timeout=60"; }
db_url() {
  if [[ $DBKIND == mariadb ]]; then echo "mysql+pymysql://lab:$PW@$H:$DB_PORT/$1?charset=utf8"
  else sqlite_url "$1"; fi
}
T0=$(date +%s%N)

log() { local ms=$((($(date +%s%N) - T0) / 1000000)); printf '[up %4d.%01ds] %s\n' $((ms / 1000)) $((ms % 1000 / 100)) "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
want() { [[ " $SERVICES " == *" $1 "* ]]; }

PACKAGES=(keystone glance-api placement-api nova-api nova-conductor nova-scheduler
          neutron-common cinder-api cinder-scheduler rabbitmq-server
          python3-openstackclient qemu-utils uwsgi-plugin-python3 curl bc jq sqlite3 procps)
[[ $DBKIND == mariadb ]] && PACKAGES+=(mariadb-server python3-pymysql)
[[ $DBKIND == mariadb || $DBKIND == sqlite ]] || { echo "OS_LAB_DB must be mariadb or sqlite" >&2; exit 2; }

# --------------------------------------------------------------------------
install_packages() {
  [[ ${OS_LAB_SKIP_INSTALL:-0} == 1 ]] && return 0
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && { log "packages already installed"; return 0; }
  log "installing ${#missing[@]} missing packages: ${missing[*]}"
  # Keep Debian's init scripts from starting services (0.0.0.0, /etc configs).
  local made_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; made_policy=1
  fi
  local try rc=1
  for try in 1 2 3 4 5 6; do
    # DPkg::Lock::Timeout: other work on the machine may hold the dpkg lock
    if DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
         -o DPkg::Lock::Timeout=900 -o Dpkg::Options::=--force-confdef \
         -o Dpkg::Options::=--force-confold "${missing[@]}" >>"$LOG/apt.log" 2>&1; then
      rc=0; break
    fi
    if ((try == 1)) && grep -q 'Unable to locate package' "$LOG/apt.log"; then
      log "package lists look stale: apt-get update"
      apt-get update -q -o DPkg::Lock::Timeout=900 >>"$LOG/apt.log" 2>&1 || true
    fi
    log "apt-get failed (try $try), see $LOG/apt.log; retrying in 20s"; sleep 20
  done
  ((made_policy)) && rm -f /usr/sbin/policy-rc.d
  ((rc == 0)) || die "apt-get install failed"
  log "packages installed"
}

# --------------------------------------------------------------------------
# process helpers
pid_of() { local f=$RUN/$1.pid; [[ -s $f ]] && cat "$f" || true; }
running() { local p; p=$(pid_of "$1"); [[ -n $p ]] && kill -0 "$p" 2>/dev/null; }
# start NAME [ENV=VAL...] -- CMD...
start() {
  local name=$1; shift
  local envs=()
  while [[ $1 != -- ]]; do envs+=("$1"); shift; done; shift
  if running "$name"; then log "$name already running (pid $(pid_of "$name"))"; return 0; fi
  echo "=== $(date -Is) start: $*" >>"$LOG/$name.log"
  setsid env "${envs[@]}" "$@" >>"$LOG/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
  log "started $name (pid $!)"
}
wait_http() { # NAME URL [timeout]
  local name=$1 url=$2 to=${3:-180} i
  for ((i = 0; i < to * 2; i++)); do
    if curl -s -o /dev/null -m 2 "$url"; then log "$name answers at $url"; return 0; fi
    running "$name" || die "$name died, see $LOG/$name.log"
    sleep 0.5
  done
  die "$name did not answer at $url within ${to}s"
}
wait_tcp() { # NAME PORT [timeout]
  local name=$1 port=$2 to=${3:-120} i
  for ((i = 0; i < to * 2; i++)); do
    if (exec 3<>/dev/tcp/$H/$port) 2>/dev/null; then return 0; fi
    running "$name" || die "$name died, see $LOG/$name.log"
    sleep 0.5
  done
  die "$name did not listen on $port within ${to}s"
}
py_main() { # python3 -c runner for entry points that have no /usr/bin script
  echo "import sys; from $1 import main; sys.exit(main())"
}

# --------------------------------------------------------------------------
authtoken() { # USER
  cat <<EOF
[keystone_authtoken]
www_authenticate_uri = $KS_URL
auth_url = $KS_URL
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $1
password = $PW
service_token_roles_required = true
service_token_roles = service

[service_user]
send_service_user_token = true
auth_url = $KS_URL
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $1
password = $PW
EOF
}
ks_section() { # SECTION USER
  cat <<EOF

[$1]
auth_url = $KS_URL
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $2
password = $PW
region_name = RegionOne
EOF
}

write_configs() {
  mkdir -p "$ETC"/{keystone,glance,placement,nova,neutron,cinder,rabbitmq} "$RUN" "$LOG" "$DB" \
    "$LIB"/keystone/{fernet-keys,credential-keys} "$LIB"/glance/{images,staging,tasks} \
    "$LIB"/nova/{instances,lock} "$LIB"/neutron/lock "$LIB"/cinder/{lock,volumes,conversion} \
    "$LIB"/rabbitmq/{mnesia,log}
  chmod 700 "$LIB"/keystone/{fernet-keys,credential-keys}

  # ---- rabbitmq
  cat >"$ETC/rabbitmq/rabbitmq.conf" <<EOF
listeners.tcp.default = $H:$RABBIT_PORT
loopback_users.guest = true
disk_free_limit.absolute = 100MB
vm_memory_high_watermark.relative = 0.2
log.file.level = warning
EOF
  echo '[].' >"$ETC/rabbitmq/enabled_plugins"

  # ---- keystone
  cat >"$ETC/keystone/keystone.conf" <<EOF
[DEFAULT]
use_stderr = true
[database]
connection = $(db_url keystone)
sqlite_synchronous = false
[identity]
# bcrypt cost 2^4 instead of 2^12: token issue ~40 ms instead of ~400 ms (lab only)
password_hash_rounds = 4
[token]
provider = fernet
expiration = 86400
[fernet_tokens]
key_repository = $LIB/keystone/fernet-keys
[fernet_receipts]
key_repository = $LIB/keystone/fernet-keys
[credential]
key_repository = $LIB/keystone/credential-keys
[cache]
# in-process cache: token issue ~20 ms instead of ~110 ms (keystone runs as ONE uwsgi
# process, so its own invalidations keep the cache consistent)
enabled = true
backend = dogpile.cache.memory
EOF

  # ---- glance
  cat >"$ETC/glance/glance-api.conf" <<EOF
[DEFAULT]
bind_host = $H
bind_port = $GLANCE_PORT
workers = 1
use_stderr = true
enabled_backends = fs:file
enabled_import_methods = [glance-direct,web-download,copy-image]
show_image_direct_url = true
[database]
connection = $(db_url glance)
sqlite_synchronous = false
[glance_store]
default_backend = fs
[fs]
filesystem_store_datadir = $LIB/glance/images/
[os_glance_staging_store]
filesystem_store_datadir = $LIB/glance/staging/
[os_glance_tasks_store]
filesystem_store_datadir = $LIB/glance/tasks/
[paste_deploy]
flavor = keystone
config_file = /usr/share/glance-common/glance-api-paste.ini
[import_filtering_opts]
# web-download: only from this machine (Debian's security fix blocks loopback unless
# it is in allowed_hosts), on any port (default is only 80/443)
allowed_hosts = [127.0.0.1,localhost]
allowed_ports = []
[oslo_concurrency]
lock_path = $LIB/glance
$(authtoken glance)
EOF

  # ---- placement
  cat >"$ETC/placement/placement.conf" <<EOF
[DEFAULT]
use_stderr = true
[api]
auth_strategy = keystone
[placement_database]
connection = $(db_url placement)
sqlite_synchronous = false
$(authtoken placement)
EOF

  # ---- nova
  cat >"$ETC/nova/nova.conf" <<EOF
[DEFAULT]
use_stderr = true
host = lab-compute
my_ip = $H
state_path = $LIB/nova
instances_path = $LIB/nova/instances
transport_url = $TRANSPORT_URL
# fake.FakeDriver + snapshots that upload data (pylib/lab_nova.py)
compute_driver = lab_nova.LabFakeDriver
enabled_apis = osapi_compute
osapi_compute_listen = $H
osapi_compute_listen_port = $NOVA_PORT
osapi_compute_workers = 1
vif_plugging_is_fatal = false
vif_plugging_timeout = 0
allow_resize_to_same_host = true
[api]
auth_strategy = keystone
[quota]
# generous quotas: integration tests create many servers in one project
instances = 1000
cores = 100000
ram = 102400000
[conductor]
workers = 1
[scheduler]
workers = 1
[wsgi]
api_paste_config = /usr/share/nova-common/api-paste.ini
[oslo_concurrency]
lock_path = $LIB/nova/lock
[vnc]
enabled = false
[glance]
region_name = RegionOne
[cinder]
os_region_name = RegionOne
$(ks_section cinder nova | sed 1,2d)
[neutron]
service_metadata_proxy = false
$(ks_section neutron nova | sed 1,2d)
$(ks_section placement nova)
$(authtoken nova)
EOF
  # DB settings live in a second file that nova-compute does not read
  # (nova-compute must not have DB access; it goes through nova-conductor).
  cat >"$ETC/nova/nova-db.conf" <<EOF
[api_database]
connection = $(db_url nova_api)
sqlite_synchronous = false
[database]
connection = $(db_url nova_cell1)
sqlite_synchronous = false
EOF

  # ---- neutron
  cat >"$ETC/neutron/neutron.conf" <<EOF
[DEFAULT]
use_stderr = true
bind_host = $H
bind_port = $NEUTRON_PORT
api_workers = 1
rpc_workers = 1
rpc_state_report_workers = 0
state_path = $LIB/neutron
core_plugin = ml2
service_plugins = router
auth_strategy = keystone
transport_url = $TRANSPORT_URL
allow_overlapping_ips = true
dhcp_agent_notification = false
notify_nova_on_port_status_changes = false
notify_nova_on_port_data_changes = false
api_paste_config = /usr/share/neutron-common/api-paste.ini
[database]
connection = $(db_url neutron)
sqlite_synchronous = false
[quotas]
quota_network = 1000
quota_subnet = 1000
quota_port = 10000
quota_router = 1000
quota_floatingip = 1000
quota_security_group = 1000
quota_security_group_rule = 10000
[ml2]
type_drivers = flat,vlan,vxlan
tenant_network_types = vxlan
mechanism_drivers = lab_noop
extension_drivers = port_security
[ml2_type_flat]
flat_networks = *
[ml2_type_vlan]
network_vlan_ranges = physnet1:100:199
[ml2_type_vxlan]
vni_ranges = 1:1000
[oslo_concurrency]
lock_path = $LIB/neutron/lock
$(ks_section nova neutron)
$(authtoken neutron)
EOF

  # ---- cinder
  cat >"$ETC/cinder/cinder.conf" <<EOF
[DEFAULT]
use_stderr = true
my_ip = $H
host = lab-volume
state_path = $LIB/cinder
image_conversion_dir = $LIB/cinder/conversion
transport_url = $TRANSPORT_URL
auth_strategy = keystone
osapi_volume_listen = $H
osapi_volume_listen_port = $CINDER_PORT
osapi_volume_workers = 1
api_paste_config = /usr/share/cinder-common/api-paste.ini
glance_api_servers = http://$H:$GLANCE_PORT
enabled_backends = lab
# publish backend capabilities to the scheduler every 10 s (default 60): after a restart
# the scheduler otherwise answers "No valid backend" for up to a minute
periodic_interval = 10
# ...and start those periodic tasks at once instead of after a random 0-60 s: the
# scheduler answers get_pools/"No valid backend" until the first report (restart of a
# warm lab: 54 s of waiting with the default)
periodic_fuzzy_delay = 0
# the db sync writes a "default" quota class (10 volumes...) that wins over quota_*
use_default_quota_class = false
quota_volumes = 1000
quota_snapshots = 1000
quota_gigabytes = 100000
quota_backups = 1000
quota_backup_gigabytes = 100000
[lab]
volume_driver = lab_cinder.FileVolumeDriver
volume_backend_name = lab
lab_volumes_dir = $LIB/cinder/volumes
[database]
connection = $(db_url cinder)
sqlite_synchronous = false
[oslo_concurrency]
lock_path = $LIB/cinder/lock
$(ks_section nova cinder)
$(authtoken cinder)
EOF
}

# --------------------------------------------------------------------------
start_rabbitmq() {
  local renv=(HOME="$LIB/rabbitmq" RABBITMQ_NODENAME=rabbit@localhost
    RABBITMQ_NODE_IP_ADDRESS=$H RABBITMQ_NODE_PORT=$RABBIT_PORT RABBITMQ_DIST_PORT=$RABBIT_DIST_PORT
    ERL_EPMD_ADDRESS=$H ERL_EPMD_PORT=$EPMD_PORT
    RABBITMQ_MNESIA_BASE="$LIB/rabbitmq/mnesia" RABBITMQ_LOG_BASE="$LIB/rabbitmq/log"
    RABBITMQ_CONFIG_FILE="$ETC/rabbitmq/rabbitmq.conf"
    RABBITMQ_ENABLED_PLUGINS_FILE="$ETC/rabbitmq/enabled_plugins"
    RABBITMQ_PID_FILE="$LIB/rabbitmq/rabbitmq.pid" RABBITMQ_LOGS=-
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}")
  # epmd first, in the foreground of its own session, so that down.sh can stop it by PID
  start epmd -- /usr/bin/epmd -address $H -port "$EPMD_PORT"
  wait_tcp epmd "$EPMD_PORT" 30
  start rabbitmq "${renv[@]}" -- /usr/lib/rabbitmq/bin/rabbitmq-server
}

wal() { # put SQLite files in WAL mode (persistent): readers no longer block writers,
  # which avoids most "database is locked" between API workers/processes.
  [[ $DBKIND == sqlite ]] || return 0
  local f; for f in "$@"; do sqlite3 "$DB/$f.sqlite" 'PRAGMA journal_mode=WAL;' >/dev/null; done
}
start_mariadb() {
  local sock=$RUN/mysqld.sock
  if [[ ! -d $LIB/mysql/mysql ]]; then
    mkdir -p "$LIB/mysql"
    mariadb-install-db --no-defaults --datadir="$LIB/mysql" --user=root --skip-test-db \
      --auth-root-authentication-method=socket >>"$LOG/mariadb-install.log" 2>&1 ||
      die "mariadb-install-db failed, see $LOG/mariadb-install.log"
  fi
  start mariadb -- /usr/sbin/mariadbd --no-defaults --datadir="$LIB/mysql" --user=root \
    --socket="$sock" --bind-address=$H --port="$DB_PORT" --pid-file="$LIB/mysql/mariadbd.pid" \
    --skip-name-resolve --skip-log-bin --performance-schema=OFF --max-connections=1000 \
    --innodb-buffer-pool-size=128M --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 \
    --character-set-server=utf8 --collation-server=utf8_general_ci
}
setup_mariadb() {
  wait_tcp mariadb "$DB_PORT" 60
  local d sql="CREATE USER IF NOT EXISTS 'lab'@'$H' IDENTIFIED BY '$PW';
    GRANT ALL PRIVILEGES ON *.* TO 'lab'@'$H';"
  for d in keystone glance placement nova_api nova_cell0 nova_cell1 neutron cinder; do
    sql+=" CREATE DATABASE IF NOT EXISTS $d CHARACTER SET utf8;"
  done
  mariadb --no-defaults -S "$RUN/mysqld.sock" -u root -e "$sql" || die "mariadb setup failed"
  log "mariadb ready on $H:$DB_PORT"
}
db_once() { # NAME CMD... : run a db sync once per state dir
  local mark=$RUN/$1.$DBKIND.dbsync.done; shift
  [[ -e $mark ]] && return 0
  "$@" && touch "$mark"
}

write_clouds() {
  cat >"$STATE/clouds.yaml" <<EOF
clouds:
  lab-admin:
    auth:
      auth_url: $KS_URL/v3
      username: admin
      password: $PW
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    interface: public
    identity_api_version: 3
  lab-demo:
    auth:
      auth_url: $KS_URL/v3
      username: demo
      password: $PW
      project_name: demo
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    interface: public
    identity_api_version: 3
EOF
  cat >"$STATE/openrc" <<EOF
export OS_AUTH_URL=$KS_URL/v3
export OS_IDENTITY_API_VERSION=3
export OS_USERNAME=admin
export OS_PASSWORD=$PW
export OS_PROJECT_NAME=admin
export OS_USER_DOMAIN_NAME=Default
export OS_PROJECT_DOMAIN_NAME=Default
export OS_REGION_NAME=RegionOne
export OS_INTERFACE=public
export OS_CLIENT_CONFIG_FILE=$STATE/clouds.yaml
EOF
}

bootstrap() { # PHASE (identity|resources)
  OS_CLIENT_CONFIG_FILE=$STATE/clouds.yaml LAB_NOVA_CONF=$ETC/nova/nova.conf \
  LAB_NOVA_DB_CONF=$ETC/nova/nova-db.conf LAB_PW=$PW LAB_SERVICES="$SERVICES" LAB_H=$H \
  LAB_PORTS="glance=$GLANCE_PORT placement=$PLACEMENT_PORT nova=$NOVA_PORT neutron=$NEUTRON_PORT cinder=$CINDER_PORT" \
    $PY "$HERE/bootstrap.py" "$1" 2>>"$LOG/bootstrap.log" | while read -r l; do log "bootstrap: $l"; done ||
    die "bootstrap $1 failed, see $LOG/bootstrap.log"
}

keystone_db() {
  local kc=(keystone-manage --config-file "$ETC/keystone/keystone.conf")
  wal keystone
  db_once keystone "${kc[@]}" db_sync
  [[ -e $LIB/keystone/fernet-keys/0 ]] ||
    "${kc[@]}" fernet_setup --keystone-user root --keystone-group root
  [[ -e $LIB/keystone/credential-keys/0 ]] ||
    "${kc[@]}" credential_setup --keystone-user root --keystone-group root
  [[ -e $RUN/keystone.$DBKIND.bootstrap.done ]] || {
    "${kc[@]}" bootstrap --bootstrap-password "$PW" --bootstrap-username admin \
      --bootstrap-project-name admin --bootstrap-role-name admin \
      --bootstrap-service-name keystone --bootstrap-region-id RegionOne \
      --bootstrap-admin-url "$KS_URL/v3" --bootstrap-internal-url "$KS_URL/v3" \
      --bootstrap-public-url "$KS_URL/v3"
    touch "$RUN/keystone.$DBKIND.bootstrap.done"; }
}
glance_db() {
  wal glance
  db_once glance glance-manage --config-file "$ETC/glance/glance-api.conf" db_sync
}
placement_db() {
  wal placement
  db_once placement placement-manage --config-file "$ETC/placement/placement.conf" db sync
}
nova_db_steps() {
  local nm=(nova-manage --config-file "$ETC/nova/nova.conf" --config-file "$ETC/nova/nova-db.conf")
  "${nm[@]}" api_db sync
  "${nm[@]}" cell_v2 list_cells 2>/dev/null | grep -q ' cell0 ' ||
    "${nm[@]}" cell_v2 map_cell0 --database_connection "$(db_url nova_cell0)"
  "${nm[@]}" cell_v2 list_cells 2>/dev/null | grep -q ' cell1 ' ||
    "${nm[@]}" cell_v2 create_cell --name cell1 --verbose
  "${nm[@]}" db sync
}
nova_db() {
  wal nova_api nova_cell0 nova_cell1
  db_once nova nova_db_steps
}
neutron_db_steps() {
  if [[ $DBKIND == mariadb ]]; then
    neutron-db-manage --config-file "$ETC/neutron/neutron.conf" upgrade heads
    return
  fi
  # neutron's alembic migrations need ALTER TABLE features SQLite lacks: create the
  # schema from the models and stamp the alembic heads instead.
  $PY - "$DB/neutron.sqlite" <<'EOF'
import sys
import sqlalchemy as sa
from neutron.db.migration.models import head
engine = sa.create_engine('sqlite:///' + sys.argv[1])
head.get_metadata().create_all(engine)
EOF
  neutron-db-manage --config-file "$ETC/neutron/neutron.conf" stamp heads
}
neutron_db() {
  wal neutron
  db_once neutron neutron_db_steps
}
cinder_db() {
  wal cinder
  db_once cinder cinder-manage --config-file "$ETC/cinder/cinder.conf" db sync
}
sync_dbs() { # SERVICE... : schema syncs one after the other (CPU-bound python; running
  # them all in parallel was slower on 2 cores), skipping those already done.
  local s
  for s in "$@"; do
    want "$s" || continue
    if [[ -e $RUN/$s.$DBKIND.dbsync.done && ( $s != keystone || -e $RUN/keystone.$DBKIND.bootstrap.done ) ]]; then
      continue
    fi
    log "db sync: $s"
    "${s}_db" >>"$LOG/$s-manage.log" 2>&1 || die "db sync for $s failed, see $LOG/$s-manage.log"
  done
}

start_keystone() {
  start keystone OS_KEYSTONE_CONFIG_DIR="$ETC/keystone" -- \
    uwsgi --plugin python3 --http-socket "$H:$KS_PORT" --wsgi-file /usr/bin/keystone-wsgi-public \
      --master --processes 1 --threads 4 --enable-threads --lazy-apps --die-on-term --need-app \
      --buffer-size 65535 --add-header 'Connection: close' --procname-prefix-spaced keystone
}
start_glance() {
  start glance-api -- glance-api --config-file "$ETC/glance/glance-api.conf"
}
start_placement() {
  start placement-api OS_PLACEMENT_CONFIG_DIR="$ETC/placement" -- \
    uwsgi --plugin python3 --http-socket "$H:$PLACEMENT_PORT" --wsgi-file /usr/bin/placement-api \
      --master --processes 1 --threads 4 --enable-threads --lazy-apps --die-on-term --need-app \
      --buffer-size 65535 --add-header 'Connection: close' --procname-prefix-spaced placement
}
start_nova() {
  local nc=(--config-file "$ETC/nova/nova.conf" --config-file "$ETC/nova/nova-db.conf")
  start nova-conductor -- nova-conductor "${nc[@]}"
  start nova-scheduler -- nova-scheduler "${nc[@]}"
  start nova-api -- nova-api "${nc[@]}"
  # nova-compute reads no DB settings.  python3 -c because Debian's nova-compute package
  # (which has /usr/bin/nova-compute) pulls in libvirt/qemu; the snippet also adds
  # pylib/ to the nova.virt package path, since nova loads compute_driver only as
  # nova.virt.<compute_driver> (lab_nova.LabFakeDriver -> pylib/lab_nova.py).
  start nova-compute -- $PY -c "import sys; from nova.cmd.compute import main; import nova.virt; \
nova.virt.__path__.append('$PYLIB'); sys.exit(main())" --config-file "$ETC/nova/nova.conf"
}
start_neutron() {
  start neutron-server PYTHONPATH="$PYLIB" -- neutron-server --config-file "$ETC/neutron/neutron.conf"
}
start_cinder() {
  start cinder-api -- cinder-api --config-file "$ETC/cinder/cinder.conf"
  start cinder-scheduler -- cinder-scheduler --config-file "$ETC/cinder/cinder.conf"
  # cinder-volume: python3 -c because Debian's cinder-volume package pulls in lvm2/tgt/iscsi
  start cinder-volume PYTHONPATH="$PYLIB" -- \
    $PY -c "$(py_main cinder.cmd.volume)" --config-file "$ETC/cinder/cinder.conf"
}

# --------------------------------------------------------------------------
main() {
  mkdir -p "$STATE" "$RUN" "$LOG"
  want keystone || die "keystone is required"
  install_packages
  write_configs
  write_clouds
  log "configs written under $ETC"
  local need_rabbit=0
  if want nova || want neutron || want cinder; then need_rabbit=1; start_rabbitmq; fi
  if [[ $DBKIND == mariadb ]]; then start_mariadb; setup_mariadb; fi
  sync_dbs keystone
  start_keystone
  # the other schemas are synced while keystone starts and gets its users/catalog
  sync_dbs glance placement neutron cinder nova >"$LOG/dbsync.out" 2>&1 &
  local dbsync=$!
  wait_http keystone "$KS_URL/v3" 120
  bootstrap identity
  wait "$dbsync" || { cat "$LOG/dbsync.out" >&2; die "db sync failed"; }
  cat "$LOG/dbsync.out" >&2
  if ((need_rabbit)); then wait_tcp rabbitmq "$RABBIT_PORT" 120; log "rabbitmq listening on $H:$RABBIT_PORT"; fi
  local s
  for s in glance placement neutron cinder nova; do want $s && "start_$s"; done
  want glance && wait_http glance-api "http://$H:$GLANCE_PORT/" 180
  want placement && wait_http placement-api "http://$H:$PLACEMENT_PORT/" 180
  want neutron && wait_http neutron-server "http://$H:$NEUTRON_PORT/" 180
  want cinder && wait_http cinder-api "http://$H:$CINDER_PORT/" 180
  want nova && wait_http nova-api "http://$H:$NOVA_PORT/" 180
  bootstrap resources
  log "up: all requested services answer ($SERVICES)"
  echo "# --- OpenStack lab is up; state in $STATE"
  cat "$STATE/openrc"
  echo "# clouds.yaml: $STATE/clouds.yaml (clouds: lab-admin, lab-demo)"
}
main "$@"
