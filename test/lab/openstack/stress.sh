#!/usr/bin/env bash
# stress.sh [STATE_DIR] [N] - N servers + N volumes + N ports created concurrently,
# waits, deletes them; reports failures and "database is locked" log lines.
set -uo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
STATE=$(realpath -m "${1:-${GUTS_LAB_STATE:-${OS_LAB_STATE:-/var/tmp/guts-lab/openstack}}}"); N=${2:-10}
source "$STATE/openrc"
body='{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"name":"Default"},"password":"'$OS_PASSWORD'"}}},"scope":{"project":{"name":"admin","domain":{"name":"Default"}}}}}'
curl -s -D "$STATE/stress.h" -o "$STATE/stress.tok" -H 'Content-Type: application/json' -d "$body" "$OS_AUTH_URL/auth/tokens"
T=$(awk 'tolower($1)=="x-subject-token:" {print $2}' "$STATE/stress.h" | tr -d '\r')
ep() { jq -r --arg t "$1" '.token.catalog[] | select(.type==$t) | .endpoints[] | select(.interface=="public") | .url' "$STATE/stress.tok"; }
NOVA=$(ep compute); CINDER=$(ep volumev3); NEUTRON=$(ep network); GLANCE=$(ep image)
A=(-H "X-Auth-Token: $T" -H 'Content-Type: application/json')
NET=$(curl -s "${A[@]}" "$NEUTRON/v2.0/networks?name=lab-net" | jq -r '.networks[0].id')
IMG=$(curl -s "${A[@]}" "$GLANCE/v2/images?name=lab-tiny" | jq -r '.images[0].id')
before=$(cat "$STATE"/log/*.log | grep -c 'database is locked')
t0=$(date +%s.%N)
for i in $(seq 1 "$N"); do
  curl -s -o /dev/null -w "server %{http_code}\n" "${A[@]}" -X POST "$NOVA/servers" -d "{\"server\":{\"name\":\"stress-$i\",\"imageRef\":\"$IMG\",\"flavorRef\":\"$(curl -s "${A[@]}" "$NOVA/flavors" | jq -r '.flavors[]|select(.name=="m1.tiny")|.id')\",\"networks\":[{\"uuid\":\"$NET\"}]}}" &
  curl -s -o /dev/null -w "volume %{http_code}\n" "${A[@]}" -X POST "$CINDER/volumes" -d "{\"volume\":{\"name\":\"stress-$i\",\"size\":1,\"imageRef\":\"$IMG\"}}" &
  curl -s -o /dev/null -w "port %{http_code}\n" "${A[@]}" -X POST "$NEUTRON/v2.0/ports" -d "{\"port\":{\"name\":\"stress-$i\",\"network_id\":\"$NET\"}}" &
done | sort | uniq -c
wait
for k in $(seq 1 240); do
  s=$(curl -s "${A[@]}" "$NOVA/servers/detail?name=stress-" | jq -r '[.servers[].status] | group_by(.) | map("\(.[0])=\(length)") | join(",")')
  v=$(curl -s "${A[@]}" "$CINDER/volumes/detail?all_tenants=1" | jq -r '[.volumes[] | select(.name|startswith("stress-")) | .status] | group_by(.) | map("\(.[0])=\(length)") | join(",")')
  [[ $s != *BUILD* && $v != *creating* && $v != *downloading* ]] && break
  sleep 1
done
echo "after $(echo "$(date +%s.%N) - $t0" | bc | cut -c1-5)s: servers [$s] volumes [$v]"
for id in $(curl -s "${A[@]}" "$NOVA/servers?name=stress-" | jq -r '.servers[].id'); do curl -s -o /dev/null "${A[@]}" -X DELETE "$NOVA/servers/$id"; done
sleep 5
for id in $(curl -s "${A[@]}" "$CINDER/volumes?all_tenants=1" | jq -r '.volumes[] | select(.name|startswith("stress-")) | .id'); do curl -s -o /dev/null "${A[@]}" -X DELETE "$CINDER/volumes/$id"; done
for id in $(curl -s "${A[@]}" "$NEUTRON/v2.0/ports?name=stress" | jq -r '.ports[] | select(.name|startswith("stress-")) | .id'); do curl -s -o /dev/null "${A[@]}" -X DELETE "$NEUTRON/v2.0/ports/$id"; done
after=$(cat "$STATE"/log/*.log | grep -c 'database is locked')
echo "'database is locked' log lines during the run: $((after - before))"
