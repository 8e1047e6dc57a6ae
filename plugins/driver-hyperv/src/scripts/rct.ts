import { DRIVES_FUNCTION } from './drives.js'

/**
 * Resilient Change Tracking scripts (Windows Server 2016+, VM configuration version 6.2+), the way
 * a backup application drives it, from PowerShell on the host:
 *
 * 1. `Msvm_VirtualSystemSnapshotService.CreateSnapshot` with SnapshotType 32768 makes a *recovery*
 *    snapshot: the drives write to new differencing disks and the files below them are frozen.
 *    Each frozen file's `RctId` (Get-VHD) is the change tracking id sealed at that moment.
 * 2. `QueryChangesVirtualDisk` (VirtDisk.dll, P/Invoke) on a frozen file lists the byte ranges
 *    changed since an earlier sealed id.
 * 3. `ConvertToReferencePoint` turns the recovery snapshot into a reference point (it merges the
 *    differencing disks away and keeps the sealed ids valid for the next query); the previous
 *    reference point is then destroyed (`DestroyReferencePoint`).
 *
 * A reference point cannot be named. It holds the ids its recovery snapshot sealed, and that
 * snapshot bore the migration's name, so a reference point is this migration's exactly when its
 * ids are ones the migration recorded (session change ids, the warm state's). Inputs that go into a
 * WQL filter are parsed as GUIDs first; nothing from $GutsArgs is spliced into a query as text.
 */

/** Waits for a Hyper-V WMI method: 0 done, 4096 a job to follow to its end; anything else failed. */
const JOB_FUNCTION = `
$GutsNs = 'root\\virtualization\\v2'
function Wait-GutsJob($result, [string]$what) {
  $rv = [int]$result.ReturnValue
  if ($rv -eq 0) { return $null }
  if ($rv -ne 4096) { throw "$what failed: Hyper-V returned $rv." }
  $job = $result.Job
  $deadline = [DateTime]::UtcNow.AddMinutes(30)
  while ($true) {
    $job = Get-CimInstance -InputObject $job
    if ([int]$job.JobState -notin 2, 3, 4, 5, 6) { break }
    if ([DateTime]::UtcNow -gt $deadline) { throw "$what did not finish within 30 minutes (job $($job.InstanceID))." }
    Start-Sleep -Milliseconds 200
  }
  if ([int]$job.JobState -ne 7) { throw "$what failed: $($job.ErrorDescription) (job state $([int]$job.JobState), error $([int]$job.ErrorCode))." }
  $job
}
function Get-GutsComputerSystem([string]$id) {
  $guid = ([guid]$id).ToString()
  $cs = Get-CimInstance -Namespace $GutsNs -ClassName Msvm_ComputerSystem -Filter "Name='$guid'"
  if (-not $cs) { throw "Hyper-V was unable to find a virtual machine with id '$guid'." }
  $cs
}
function Get-GutsReferencePoints($cs) {
  @(Get-CimAssociatedInstance -InputObject $cs -Association Msvm_ReferencePointOfVirtualSystem -ResultClassName Msvm_VirtualSystemReferencePoint)
}
function Remove-GutsReferencePoints($cs, $rctIds, [string]$keep) {
  $want = @($rctIds | ForEach-Object { [string]$_ })
  $svc = Get-CimInstance -Namespace $GutsNs -ClassName Msvm_VirtualSystemReferencePointService
  $n = 0
  foreach ($rp in (Get-GutsReferencePoints $cs)) {
    if ($keep -and [string]$rp.InstanceID -eq $keep) { continue }
    $held = @($rp.ResilientChangeTrackingIdentifiers | Where-Object { $want -ccontains [string]$_ })
    if ($held.Count -eq 0) { continue }
    $r = Invoke-CimMethod -InputObject $svc -MethodName DestroyReferencePoint -Arguments @{ AffectedReferencePoint = $rp }
    $null = Wait-GutsJob $r 'DestroyReferencePoint'
    $n++
  }
  $n
}
function Get-GutsSnapshotSettings($cs, [string]$snapshotId) {
  $want = 'Microsoft:' + ([guid]$snapshotId).ToString()
  @(Get-CimAssociatedInstance -InputObject $cs -Association Msvm_SnapshotOfVirtualSystem -ResultClassName Msvm_VirtualSystemSettingData |
    Where-Object { [string]$_.InstanceID -eq $want }) | Select-Object -First 1
}`

/**
 * Begins a sync: a crash-consistent recovery snapshot (the final sync runs with the VM shut down,
 * so the migrated disks are consistent; the syncs before it are overwritten by later deltas),
 * renamed to the migration's mark in the same call, and the frozen files with their sealed ids.
 */
export const RCT_SYNC_BEGIN = `${DRIVES_FUNCTION}
${JOB_FUNCTION}
$vm = Get-VM -Id $GutsArgs.id
$cs = Get-GutsComputerSystem $GutsArgs.id
$svc = Get-CimInstance -Namespace $GutsNs -ClassName Msvm_VirtualSystemSnapshotService
$settings = '<INSTANCE CLASSNAME="Msvm_VirtualSystemSnapshotSettingData"><PROPERTY NAME="ConsistencyLevel" TYPE="uint8"><VALUE>2</VALUE></PROPERTY></INSTANCE>'
$r = Invoke-CimMethod -InputObject $svc -MethodName CreateSnapshot -Arguments @{ AffectedSystem = $cs; SnapshotSettings = $settings; SnapshotType = [uint16]32768 }
$job = Wait-GutsJob $r 'CreateSnapshot (recovery)'
$snap = if ($job) { Get-CimAssociatedInstance -InputObject $job -Association Msvm_AffectedJobElement -ResultClassName Msvm_VirtualSystemSettingData | Select-Object -First 1 } else { $r.ResultingSnapshot }
if (-not $snap) { throw 'CreateSnapshot (recovery) finished without naming the snapshot it made.' }
$id = ([string]$snap.InstanceID) -replace '^Microsoft:', ''
$cp = @(Get-VMSnapshot -VM $vm | Where-Object { $_.Id.ToString() -eq $id }) | Select-Object -First 1
try {
  if (-not $cp) { throw "The recovery snapshot $id is not among the checkpoints of $($vm.Name)." }
  Rename-VMSnapshot -VMSnapshot $cp -NewName $GutsArgs.name
  $drives = @(Get-GutsDrives $cp.HardDrives $true)
} catch {
  # Nothing may stay behind when the sync cannot go on: merge the snapshot away again.
  if ($cp) { Remove-VMSnapshot -VMSnapshot $cp -Confirm:$false -ErrorAction SilentlyContinue }
  throw
}
[ordered]@{ State = [int]$vm.State; Version = [string]$vm.Version; CheckpointId = $id; CheckpointName = [string]$GutsArgs.name
  SnapshotType = [int]$cp.SnapshotType; Drives = $drives }`

/**
 * The ranges of a frozen file changed since a sealed id, walked in as many calls as the range
 * buffer needs (ProcessedLength says how far each call got). The disk is opened as a VHDX
 * (VIRTUAL_STORAGE_TYPE_DEVICE_VHDX, 3): RCT tracks nothing else. Answers the Win32 status instead of
 * throwing, so that an id the disk no longer knows reads as a reset, not as a broken script.
 * Ranges come back flat: offset, length, offset, length, …
 */
export const RCT_CHANGES = `
if (-not ('GutsVirtDisk' -as [type])) {
  Add-Type -TypeDefinition @'
using System;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
public static class GutsVirtDisk {
  [StructLayout(LayoutKind.Sequential)]
  public struct VIRTUAL_STORAGE_TYPE { public uint DeviceId; public Guid VendorId; }
  [StructLayout(LayoutKind.Sequential)]
  public struct OPEN_VIRTUAL_DISK_PARAMETERS { public int Version; public int GetInfoOnly; public int ReadOnly; public Guid ResiliencyGuid; public Guid SnapshotId; }
  [StructLayout(LayoutKind.Sequential)]
  public struct QUERY_CHANGES_VIRTUAL_DISK_RANGE { public ulong ByteOffset; public ulong ByteLength; public ulong Reserved; }
  [DllImport("virtdisk.dll", CharSet = CharSet.Unicode)]
  public static extern uint OpenVirtualDisk(ref VIRTUAL_STORAGE_TYPE storageType, string path, uint accessMask, uint flags, ref OPEN_VIRTUAL_DISK_PARAMETERS parameters, out SafeFileHandle handle);
  [DllImport("virtdisk.dll", CharSet = CharSet.Unicode)]
  public static extern uint QueryChangesVirtualDisk(SafeFileHandle handle, string changeTrackingId, ulong byteOffset, ulong byteLength, uint flags, [In, Out] QUERY_CHANGES_VIRTUAL_DISK_RANGE[] ranges, ref uint rangeCount, out ulong processedLength);
}
'@
}
function Get-GutsStatus([uint32]$status, [string]$call) {
  # A uint32 status above 2^31 does not fit [int]; Win32Exception takes the same bits as an Int32.
  $message = (New-Object ComponentModel.Win32Exception([BitConverter]::ToInt32([BitConverter]::GetBytes($status), 0))).Message
  [ordered]@{ Status = [int64]$status; Call = $call; Message = [string]$message; Ranges = @() }
}
$type = New-Object GutsVirtDisk+VIRTUAL_STORAGE_TYPE
$type.DeviceId = 3
$type.VendorId = [guid]'ec984aec-a0f9-47e9-901f-71415a66345b'
$open = New-Object GutsVirtDisk+OPEN_VIRTUAL_DISK_PARAMETERS
$open.Version = 3
$open.ReadOnly = 1
$handle = $null
$status = [GutsVirtDisk]::OpenVirtualDisk([ref]$type, [string]$GutsArgs.path, 0, 0, [ref]$open, [ref]$handle)
if ($status -ne 0) { return Get-GutsStatus $status 'OpenVirtualDisk' }
try {
  $buffer = New-Object 'GutsVirtDisk+QUERY_CHANGES_VIRTUAL_DISK_RANGE[]' 4096
  $size = [uint64]$GutsArgs.size
  $offset = [uint64]0
  $flat = New-Object 'System.Collections.Generic.List[uint64]'
  while ($offset -lt $size) {
    $count = [uint32]$buffer.Length
    $processed = [uint64]0
    $status = [GutsVirtDisk]::QueryChangesVirtualDisk($handle, [string]$GutsArgs.since, $offset, $size - $offset, 0, $buffer, [ref]$count, [ref]$processed)
    if ($status -ne 0) { return Get-GutsStatus $status 'QueryChangesVirtualDisk' }
    for ($i = 0; $i -lt $count; $i++) { $flat.Add($buffer[$i].ByteOffset); $flat.Add($buffer[$i].ByteLength) }
    if ($processed -eq 0) { throw "QueryChangesVirtualDisk made no progress at offset $offset of $($GutsArgs.path)." }
    $offset += $processed
  }
  [ordered]@{ Status = 0; Call = 'QueryChangesVirtualDisk'; Message = ''; Ranges = @($flat | ForEach-Object { [int64]$_ }) }
} finally {
  $handle.Dispose()
}`

/**
 * Ends a sync. Succeeded while the VM runs on: the recovery snapshot becomes a reference point
 * (its ids stay valid for the next delta), then the reference points holding the ids this sync
 * started from are destroyed. Otherwise (failed, or the final sync of a VM shut down for cutover)
 * the snapshot is removed (merged) and no reference point is made. Reference points holding
 * `release` ids go either way; one already gone is fine, so the call can be repeated.
 */
export const RCT_SYNC_END = `${JOB_FUNCTION}
$vm = Get-VM -Id $GutsArgs.vmId
$cs = Get-GutsComputerSystem $GutsArgs.vmId
$made = $null
$removed = 0
$cp = @(Get-VMSnapshot -VM $vm | Where-Object { $_.Id.ToString() -eq [string]$GutsArgs.checkpointId })
if ($cp.Count -gt 0) {
  $snap = if ($GutsArgs.convert) { Get-GutsSnapshotSettings $cs $GutsArgs.checkpointId } else { $null }
  if ($snap) {
    $svc = Get-CimInstance -Namespace $GutsNs -ClassName Msvm_VirtualSystemSnapshotService
    $r = Invoke-CimMethod -InputObject $svc -MethodName ConvertToReferencePoint -Arguments @{ AffectedSnapshot = $snap }
    $job = Wait-GutsJob $r 'ConvertToReferencePoint'
    $rp = if ($job) { Get-CimAssociatedInstance -InputObject $job -Association Msvm_AffectedJobElement -ResultClassName Msvm_VirtualSystemReferencePoint | Select-Object -First 1 } else { $r.ResultingReferencePoint }
    if ($rp) { $made = [ordered]@{ InstanceID = [string]$rp.InstanceID; Rct = @($rp.ResilientChangeTrackingIdentifiers | ForEach-Object { [string]$_ }) } }
  } else {
    foreach ($c in $cp) { Remove-VMSnapshot -VMSnapshot $c -Confirm:$false }
    $removed = $cp.Count
  }
}
$keep = if ($made) { $made.InstanceID } else { '' }
$destroyed = Remove-GutsReferencePoints $cs $GutsArgs.release $keep
[ordered]@{ ReferencePoint = $made; SnapshotsRemoved = $removed; ReferencePointsDestroyed = [int]$destroyed }`

/** Destroys the VM's reference points that hold any of the given ids (cleanup of a warm migration). */
export const RCT_RELEASE = `${JOB_FUNCTION}
$cs = Get-GutsComputerSystem $GutsArgs.vmId
[ordered]@{ Destroyed = [int](Remove-GutsReferencePoints $cs $GutsArgs.rctIds '') }`
