#!/usr/bin/env bash
# verify.sh [STATE_DIR] - exercise the lab with plain curl and print measurements.
#   token issue latency, catalog, Glance upload (IMAGE_MB, default 1024) + MB/s,
#   Glance image import (glance-direct and web-download), Nova boot (fake driver)
#   to ACTIVE with a Neutron port, Cinder volume from image, attach, boot from volume.
# Env: IMAGE_MB (1024), TOKEN_N (20), KEEP=1 to keep what it created.
set -Eeuo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
STATE=$(realpath -m "${1:-${GUTS_LAB_STATE:-${OS_LAB_STATE:-/var/tmp/guts-lab/openstack}}}")
IMAGE_MB=${IMAGE_MB:-1024}; TOKEN_N=${TOKEN_N:-20}
# shellcheck disable=SC1091
source "$STATE/openrc"
TMP=$STATE/verify; mkdir -p "$TMP"
CREATED=()
HTTP_PID=
trap '[[ -n $HTTP_PID ]] && kill "$HTTP_PID" 2>/dev/null' EXIT
say() { printf '%s\n' "$*"; }
now() { date +%s.%N; }
secs() { echo "$(now) - $1" | bc; }
fail() { say "FAIL: $*"; exit 1; }

auth_body() {
  cat <<EOF
{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"$OS_USERNAME",
"domain":{"name":"$OS_USER_DOMAIN_NAME"},"password":"$OS_PASSWORD"}}},
"scope":{"project":{"name":"$OS_PROJECT_NAME","domain":{"name":"$OS_PROJECT_DOMAIN_NAME"}}}}}
EOF
}
auth_body >"$TMP/auth.json"

# ---------------------------------------------------------------- keystone
say "== Keystone: $TOKEN_N token issues (POST /v3/auth/tokens)"
for i in $(seq 1 "$TOKEN_N"); do
  curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -H 'Content-Type: application/json' \
    -d @"$TMP/auth.json" "$OS_AUTH_URL/auth/tokens"
done >"$TMP/token_times.txt"
awk '$1 != 201 {bad++} END {exit bad > 0}' "$TMP/token_times.txt" || fail "token issue returned non-201"
awk '{print $2*1000}' "$TMP/token_times.txt" | sort -n | awk '{a[NR]=$1; s+=$1}
  END {printf "token issue ms: min %.1f  median %.1f  p95 %.1f  max %.1f  mean %.1f (n=%d)\n",
       a[1], a[int((NR+1)/2)], a[int(NR*0.95+0.5)], a[NR], s/NR, NR}'
curl -s -D "$TMP/tok.h" -o "$TMP/tok.json" -H 'Content-Type: application/json' \
  -d @"$TMP/auth.json" "$OS_AUTH_URL/auth/tokens"
TOKEN=$(awk 'tolower($1)=="x-subject-token:" {print $2}' "$TMP/tok.h" | tr -d '\r')
[[ -n $TOKEN ]] || fail "no token"
for i in 1 2 3 4 5; do
  curl -s -o /dev/null -w '%{time_total}\n' -H "X-Auth-Token: $TOKEN" -H "X-Subject-Token: $TOKEN" \
    "$OS_AUTH_URL/auth/tokens"
done | awk '{s+=$1*1000} END {printf "token validate ms (GET /v3/auth/tokens): mean %.1f (n=%d)\n", s/NR, NR}'
ep() { jq -r --arg t "$1" '.token.catalog[] | select(.type==$t) | .endpoints[] | select(.interface=="public") | .url' "$TMP/tok.json" | head -1; }
say "catalog:"; jq -r '.token.catalog[] | "  \(.type)\t\(.name)\t\(.endpoints[] | select(.interface=="public") | .url)"' "$TMP/tok.json"
GLANCE=$(ep image); NOVA=$(ep compute); NEUTRON=$(ep network); CINDER=$(ep volumev3)
A=(-H "X-Auth-Token: $TOKEN")
J=(-H 'Content-Type: application/json')

# ---------------------------------------------------------------- glance
wait_field() { # URL JQ WANT TIMEOUT [FAILVALUE]
  local url=$1 q=$2 want=$3 to=$4 bad=${5:-error} v t0; t0=$(now)
  while :; do
    v=$(curl -s "${A[@]}" -H 'OpenStack-API-Version: volume 3.0' "$url" | jq -r "$q")
    [[ $v == "$want" ]] && return 0
    [[ $v == "$bad" || $v == ERROR ]] && { say "  -> $v"; return 1; }
    (($(echo "$(secs "$t0") > $to" | bc))) && { say "  -> timeout, last=$v"; return 1; }
    sleep 0.5
  done
}
if [[ -n $GLANCE ]]; then
  IMG=$TMP/img-${IMAGE_MB}M.raw
  if [[ ! -s $IMG ]]; then
    say "== generating $IMAGE_MB MiB random image file"
    head -c "$((IMAGE_MB * 1048576))" /dev/urandom >"$IMG"
  fi
  say "== Glance: upload $IMAGE_MB MiB (PUT /v2/images/ID/file)"
  id=$(curl -s "${A[@]}" "${J[@]}" -X POST "$GLANCE/v2/images" \
    -d "{\"name\":\"verify-upload-${IMAGE_MB}M\",\"disk_format\":\"raw\",\"container_format\":\"bare\"}" | jq -r .id)
  CREATED+=("image $id"); UPLOAD_IMAGE=$id
  out=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' "${A[@]}" -H 'Expect:' \
    -H 'Content-Type: application/octet-stream' -T "$IMG" "$GLANCE/v2/images/$id/file")
  code=${out% *}; t=${out#* }
  [[ $code == 204 ]] || fail "upload http $code"
  st=$(curl -s "${A[@]}" "$GLANCE/v2/images/$id" | jq -r '.status + " size=" + (.size|tostring)')
  say "upload: http $code, ${t}s, $(echo "scale=1; $IMAGE_MB / $t" | bc) MiB/s, image $st"

  say "== Glance: image import, glance-direct (stage + import)"
  id=$(curl -s "${A[@]}" "${J[@]}" -X POST "$GLANCE/v2/images" \
    -d '{"name":"verify-import-direct","disk_format":"raw","container_format":"bare"}' | jq -r .id)
  CREATED+=("image $id")
  out=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' "${A[@]}" -H 'Expect:' \
    -H 'Content-Type: application/octet-stream' -T "$IMG" "$GLANCE/v2/images/$id/stage")
  say "stage: http ${out% *}, ${out#* }s, $(echo "scale=1; $IMAGE_MB / ${out#* }" | bc) MiB/s"
  t0=$(now)
  code=$(curl -s -o /dev/null -w '%{http_code}' "${A[@]}" "${J[@]}" -X POST \
    "$GLANCE/v2/images/$id/import" -d '{"method":{"name":"glance-direct"}}')
  [[ $code == 202 ]] || fail "import http $code"
  wait_field "$GLANCE/v2/images/$id" .status active 600 killed || fail "glance-direct import"
  say "import glance-direct: 202 -> active in $(secs "$t0")s"

  say "== Glance: image import, web-download from a local HTTP server on 127.0.0.1"
  port=$((20000 + RANDOM % 20000))
  /usr/bin/python3 -m http.server "$port" --bind 127.0.0.1 --directory "$TMP" >/dev/null 2>&1 &
  HTTP_PID=$!; sleep 1
  id=$(curl -s "${A[@]}" "${J[@]}" -X POST "$GLANCE/v2/images" \
    -d '{"name":"verify-import-web","disk_format":"raw","container_format":"bare"}' | jq -r .id)
  CREATED+=("image $id")
  t0=$(now)
  code=$(curl -s -o /dev/null -w '%{http_code}' "${A[@]}" "${J[@]}" -X POST "$GLANCE/v2/images/$id/import" \
    -d "{\"method\":{\"name\":\"web-download\",\"uri\":\"http://127.0.0.1:$port/$(basename "$IMG")\"}}")
  [[ $code == 202 ]] || fail "web-download http $code"
  if wait_field "$GLANCE/v2/images/$id" .status active 600 killed; then
    say "import web-download: 202 -> active in $(secs "$t0")s ($(echo "scale=1; $IMAGE_MB / $(secs "$t0")" | bc) MiB/s)"
  else
    say "import web-download FAILED"
  fi
  kill "$HTTP_PID" 2>/dev/null; wait "$HTTP_PID" 2>/dev/null || true; HTTP_PID=
fi
TINY=$(curl -s "${A[@]}" "$GLANCE/v2/images?name=lab-tiny" | jq -r '.images[0].id')

# ---------------------------------------------------------------- nova + neutron
if [[ -n $NOVA ]]; then
  say "== Nova: boot server (fake driver) with a Neutron port"
  NET=$(curl -s "${A[@]}" "$NEUTRON/v2.0/networks?name=lab-net" | jq -r '.networks[0].id')
  FLAVOR=$(curl -s "${A[@]}" "$NOVA/flavors" | jq -r '.flavors[] | select(.name=="m1.tiny") | .id')
  t0=$(now)
  sid=$(curl -s "${A[@]}" "${J[@]}" -X POST "$NOVA/servers" -d "{\"server\":{\"name\":\"verify-vm\",
    \"imageRef\":\"$TINY\",\"flavorRef\":\"$FLAVOR\",\"networks\":[{\"uuid\":\"$NET\"}]}}" | jq -r .server.id)
  [[ $sid != null ]] || fail "server create"
  CREATED+=("server $sid")
  wait_field "$NOVA/servers/$sid" .server.status ACTIVE 300 || fail "server not ACTIVE"
  say "server $sid ACTIVE in $(secs "$t0")s"
  curl -s "${A[@]}" "$NEUTRON/v2.0/ports?device_id=$sid" |
    jq -r '.ports[] | "port \(.id) status=\(.status) vif_type=\(.["binding:vif_type"]) host=\(.["binding:host_id"]) ip=\(.fixed_ips[0].ip_address)"'
fi

# ---------------------------------------------------------------- cinder
if [[ -n $CINDER ]]; then
  say "== Cinder: volume from image, attach, boot from volume"
  t0=$(now)
  vid=$(curl -s "${A[@]}" "${J[@]}" -X POST "$CINDER/volumes" \
    -d "{\"volume\":{\"name\":\"verify-vol\",\"size\":1,\"imageRef\":\"$TINY\"}}" | jq -r .volume.id)
  CREATED+=("volume $vid")
  wait_field "$CINDER/volumes/$vid" .volume.status available 300 error || fail "volume from image"
  say "volume $vid (1 GiB, from lab-tiny) available in $(secs "$t0")s"
  if [[ -n ${UPLOAD_IMAGE:-} ]]; then
    gb=$(((IMAGE_MB + 1023) / 1024))
    t0=$(now)
    bid=$(curl -s "${A[@]}" "${J[@]}" -X POST "$CINDER/volumes" \
      -d "{\"volume\":{\"name\":\"verify-vol-big\",\"size\":$gb,\"imageRef\":\"$UPLOAD_IMAGE\"}}" | jq -r .volume.id)
    CREATED+=("volume $bid")
    if wait_field "$CINDER/volumes/$bid" .volume.status available 900 error; then
      say "volume $bid ($gb GiB from the $IMAGE_MB MiB image) available in $(secs "$t0")s"
    else
      say "volume from the $IMAGE_MB MiB image FAILED"
    fi
  fi
  if [[ -n ${sid:-} ]]; then
    t0=$(now)
    curl -s -o /dev/null "${A[@]}" "${J[@]}" -X POST "$NOVA/servers/$sid/os-volume_attachments" \
      -d "{\"volumeAttachment\":{\"volumeId\":\"$vid\"}}"
    wait_field "$CINDER/volumes/$vid" .volume.status in-use 120 error || fail "attach"
    say "attach: in-use in $(secs "$t0")s"
    t0=$(now)
    curl -s -o /dev/null "${A[@]}" -X DELETE "$NOVA/servers/$sid/os-volume_attachments/$vid"
    wait_field "$CINDER/volumes/$vid" .volume.status available 120 error || fail "detach"
    say "detach: available in $(secs "$t0")s"
    t0=$(now)
    bfv=$(curl -s "${A[@]}" "${J[@]}" -X POST "$NOVA/servers" -d "{\"server\":{\"name\":\"verify-bfv\",
      \"flavorRef\":\"$FLAVOR\",\"networks\":[{\"uuid\":\"$NET\"}],\"block_device_mapping_v2\":[{
      \"boot_index\":0,\"uuid\":\"$TINY\",\"source_type\":\"image\",\"destination_type\":\"volume\",
      \"volume_size\":1,\"delete_on_termination\":true}]}}" | jq -r .server.id)
    CREATED+=("server $bfv")
    if wait_field "$NOVA/servers/$bfv" .server.status ACTIVE 300; then
      say "boot from volume (image->new volume): ACTIVE in $(secs "$t0")s"
    else
      say "boot from volume FAILED"
    fi
  fi
fi

# ---------------------------------------------------------------- cleanup
if [[ ${KEEP:-0} != 1 ]]; then
  for ((i = ${#CREATED[@]} - 1; i >= 0; i--)); do
    read -r kind rid <<<"${CREATED[$i]}"
    case $kind in
      server) curl -s -o /dev/null "${A[@]}" -X DELETE "$NOVA/servers/$rid"
              for _ in $(seq 1 60); do
                [[ $(curl -s -o /dev/null -w '%{http_code}' "${A[@]}" "$NOVA/servers/$rid") == 404 ]] && break; sleep 0.5
              done ;;
      volume) curl -s -o /dev/null "${A[@]}" -X DELETE "$CINDER/volumes/$rid" ;;
      image) curl -s -o /dev/null "${A[@]}" -X DELETE "$GLANCE/v2/images/$rid" ;;
    esac
  done
  say "cleaned up ${#CREATED[@]} resources"
fi
say "VERIFY OK"
