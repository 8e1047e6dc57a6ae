#!/usr/bin/env bash
# mem.sh [STATE_DIR] - memory of every process up.sh started (whole process groups).
# RSS double-counts pages shared by forked workers; PSS splits them fairly.
set -uo pipefail
STATE=$(realpath -m "${1:-${GUTS_LAB_STATE:-${OS_LAB_STATE:-/var/tmp/guts-lab/openstack}}}")
tr=0; tp=0; tn=0
printf '%-16s %5s %9s %9s\n' service procs RSS_MiB PSS_MiB
for f in "$STATE"/run/*.pid; do
  [[ -e $f ]] || continue
  n=$(basename "$f" .pid); pid=$(cat "$f")
  r=0; p=0; c=0
  for q in $(pgrep -g "$pid" 2>/dev/null); do
    read -r rr pp < <(awk '/^Rss:/ {r=$2} /^Pss:/ {p=$2} END {print r+0, p+0}' "/proc/$q/smaps_rollup" 2>/dev/null || echo "0 0")
    r=$((r + rr)); p=$((p + pp)); c=$((c + 1))
  done
  printf '%-16s %5d %9.1f %9.1f\n' "$n" "$c" "$(echo "$r/1024" | bc -l)" "$(echo "$p/1024" | bc -l)"
  tr=$((tr + r)); tp=$((tp + p)); tn=$((tn + c))
done
printf '%-16s %5d %9.1f %9.1f\n' TOTAL "$tn" "$(echo "$tr/1024" | bc -l)" "$(echo "$tp/1024" | bc -l)"
