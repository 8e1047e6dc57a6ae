# hyperv-lab.sh check: Resilient Change Tracking end to end through the sshd, like a driver (sourced
# by hyperv-lab.sh; uses its psrun/ok/bad/cmd_* functions).  On web01, the check's own VM:
#   rct-1.ps1  fault on CreateSnapshot -> failed job; recovery snapshot via CIM, RctIds sealed; reference point
#   guest-write into drive 0 (crossing two 1 MiB block boundaries) || rct-reset of drive 1
#   rct-2.ps1  second recovery snapshot; P/Invoke QueryChangesVirtualDisk: exactly the written blocks,
#              the RCT errors, OpenVirtualDisk's checks, no fd leak; convert, destroy, history dropped
#   rct-info   nothing left (no checkpoint, no reference point, no differencing disk or sidecar of one)
check_rct() {
  local t rc=0 one two expect
  t=$(now_ms)
  [[ $(jq -r '.VMs[] | select(.Name == "web01") | .State' "$MODEL") == Running ]] || cmd_vm_state web01 Running 2>/dev/null
  cmd_fault CreateSnapshot 1 'Failed to create the recovery checkpoint (lab fault).' web01 2>/dev/null
  psrun "$(cat "$SRC/check/rct-1.ps1")"
  one=$PS_OUT
  cmd_fault clear CreateSnapshot 2>/dev/null
  if [[ $PS_RC == 0 ]] && jq -e '.Fault == {ReturnValue: 4096, States: "4,10", ErrorCode: 32768, ErrorDescription: "Failed to create the recovery checkpoint (lab fault).", Snapshots: 0}
      and .Type3 == 32773
      and (.Snapshot | .ReturnValue == 4096 and .States == "4,7" and .JobType == 70 and .Resulting and .Type == "Microsoft:Hyper-V:Snapshot:Recovery" and .SnapshotType == 1
        and (.Frozen | length) == 2 and .Frozen == .Leaf and all(.Frozen[]; test("^rctX:[0-9a-f]{8}(:[0-9a-f]{4}){3}:[0-9a-f]{12}:[0-9a-f]{8}$")))
      and (.Convert | .ReturnValue == 4096 and .States == "4,7" and .JobType == 200 and .Type == 2 and .Snapshots == 0 and .Listed == 1
        and (.Drives | all(.[]; endswith(".vhdx") and (test("_[0-9A-F-]{36}") | not))))
      and .Convert.Rct == .Snapshot.Frozen' <<<"$one" >/dev/null; then
    ok "RCT 1: a fault fails CreateSnapshot's job (4,10, nothing made); SnapshotType 3 -> 32773; recovery snapshot via CIM (job 4,7; AffectedJobElement; Recovery) sealed $(jq -r '.Snapshot.Frozen[0]' <<<"$one"); ConvertToReferencePoint merged it and holds the ids"
  else bad "RCT 1: rc=$PS_RC $one $PS_ERR"; return 1; fi

  t=$(now_ms)   # a write over two block boundaries: blocks 4, 5 and 6 at 1 MiB; drive 1 loses its tracking
  local w1 w2 pid
  cmd_rct_reset web01 1 >/dev/null 2>&1 & pid=$!
  w1=$(cmd_guest_write web01 0 $((5 * 1024 * 1024 - 4096)) $((1024 * 1024 + 8192))) || rc=1
  wait $pid || rc=1
  ((rc == 0)) && ok "RCT: guest-write into drive 0 (5 MiB - 4 KiB, 1 MiB + 8 KiB) while rct-reset drops drive 1's tracking" || { bad "RCT guest-write / rct-reset"; return 1; }

  t=$(now_ms)
  psrun "\$In = '$(jq -c '{P1: .Convert.Rct, RP1: .Convert.InstanceID}' <<<"$one")' | ConvertFrom-Json
$(cat "$SRC/check/rct-2.ps1")"
  two=$PS_OUT
  if [[ $PS_RC == 0 ]] && jq -e --argjson one "$one" '.Delta == "4194304+3145728" and .Malformed == "0xC03A0029" and .TooOld == "0xC03A0030" and .BeforeReset == "0xC03A0029"
      and .OpenMask == "0x00000057" and .OpenMissing == "0x00000002" and .OpenNotVhd == "0xC03A0015" and .FdsLeft == 0
      and .Destroy == 7 and .LeafSinceP1 == "0xC03A0030" and .LeafSinceP2 == "" and (.GoneRp | startswith("HRESULT 0x80041002"))
      and (.P2[1] | endswith(":00000002")) and (.P2[1][5:41] != $one.Snapshot.Frozen[1][5:41])' <<<"$two" >/dev/null; then
    ok "RCT 2: QueryChangesVirtualDisk (P/Invoke) since the reference point = exactly [4 MiB, 7 MiB); malformed id / too old / before the reset = 0xC03A0029 / 0xC03A0030 / 0xC03A0029; OpenVirtualDisk 87, 2, 0xC03A0015; no fd leak; destroyed reference point's history gone"
  else bad "RCT 2: rc=$PS_RC $two $PS_ERR"; return 1; fi

  t=$(now_ms)
  local info leftovers; info=$(cmd_rct_info web01)
  leftovers=$(find "$CROOT/Hyper-V/Virtual Hard Disks" -maxdepth 1 -name 'web01-*' ! -name 'web01-os.vhdx' ! -name 'web01-data.vhdx' ! -name 'web01-os.vhdx.rct' ! -name 'web01-data.vhdx.rct' -printf '%f ')
  if jq -e '.checkpoints == [] and .referencePoints == [] and ([.disks[] | .tracking] == [true, true])' <<<"$info" >/dev/null && [[ -z $leftovers ]] &&
    jq -e '.disks | length == 2 and .[1].granularity == 524288' <(cmd_rct_info warm02) >/dev/null && jq -e '.rct == false and .disks[0].tracking == false' <(cmd_rct_info warm-v5) >/dev/null; then
    ok "RCT: rct-info web01 shows nothing left (no checkpoint, reference point, AVHDX or sidecar); warm02 tracks 2 disks, warm-v5 (5.0) none"
  else bad "RCT leftovers: $info ${leftovers:-}"; return 1; fi
}
