# hyperv-lab.sh rct-info NAME [IDX]: a VM record of the host model (vms.json) -> its change tracking,
# reference points and checkpoints.  $idx: "" = every drive.  The state's meaning: HyperV.Rct.cs.
def hex8: [range(7; -1; -1) as $i | ((. / pow(16; $i)) | floor) % 16] | map("0123456789abcdef"[.:(. + 1)]) | join("");
def rctid($guid; $point): "rctX:" + ($guid | ascii_downcase | gsub("-"; ":")) + ":" + ($point | hex8);
def ver: (. // "0.0") | split(".") | map(tonumber? // 0);
# "0-3 12" (blocks) -> [[offset, length], ...] in bytes, clipped to the disk
def ranges($g; $size): split(" ") | map(select(length > 0) | split("-") | map(tonumber) | [.[0], (.[1] // .[0])]
  | [.[0] * $g, ([(.[1] + 1) * $g, $size] | min) - .[0] * $g]);
{
  vm: .Name,
  id: .Id,
  version: .Version,
  state: .State,
  rct: ((.Version | ver) >= [6, 2]),
  disks: [(.HardDrives // []) | to_entries[] | select($idx == "" or .key == ($idx | tonumber)) | .key as $i | .value as $d | ($d.LabRct // null) as $r | {
    index: $i,
    controller: "\($d.ControllerType) \($d.ControllerNumber):\($d.ControllerLocation)",
    path: $d.Path,
    tracking: ($r != null),
    trackingGuid: ($r.Guid // null),
    rctId: (if $r then rctid($r.Guid; $r.Point) else "" end),
    point: ($r.Point // null),
    oldest: ($r.Oldest // null),
    granularity: ($r.Granularity // null),
    size: ($r.Size // null),
    # the ids QueryChangesVirtualDisk still answers for (on the active leaf)
    keptPoints: (if $r then [range($r.Oldest; $r.Point + 1) as $p | rctid($r.Guid; $p)] else [] end),
    # what was written after each point: { "after": point, "ranges": [[offset, length], ...] }
    changes: (if $r then [($r.Changes // {}) | to_entries[] | select(.value != "") | { after: (.key | tonumber), ranges: (.value | ranges($r.Granularity; $r.Size)) }] else [] end)
  }],
  referencePoints: [(.LabReferencePoints // [])[] | select(. != null) | {
    instanceId: .InstanceID, consistencyLevel: .ConsistencyLevel, creationTime: .CreationTime,
    rctIds: (.ResilientChangeTrackingIdentifiers // []), virtualDiskIds: (.VirtualDiskIdentifiers // [])
  }],
  checkpoints: [(.Snapshots // [])[] | select(. != null) | {
    id: .Id, name: .Name, snapshotType: .SnapshotType, creationTime: .CreationTime,
    drives: [(.HardDrives // [])[] | { controller: "\(.ControllerType) \(.ControllerNumber):\(.ControllerLocation)", path: .Path, rctId: (.LabRctId // "") }]
  }]
}
