import { DRIVES_FUNCTION } from './drives.js'

/**
 * Export scripts. A live export takes a checkpoint and reads the files it froze: after
 * Checkpoint-VM every drive writes to a new differencing disk, and the checkpoint's own drives
 * name the files that no longer change. The checkpoint carries the migration's marks in its
 * Notes (and the migration id in its name, set in the same call), so a later process finds it.
 */

/** Cold: the VM must be off; the chains of its drives as they are now. */
export const COLD_EXPORT = `${DRIVES_FUNCTION}
$vm = Get-VM -Id $GutsArgs.id
[ordered]@{ State = [int]$vm.State; Drives = @(Get-GutsDrives (Get-VMHardDiskDrive -VM $vm) $true) }`

/** Snapshot: a checkpoint named for the migration, marked in its Notes; the chains it froze. */
export const CHECKPOINT_EXPORT = `${DRIVES_FUNCTION}
$vm = Get-VM -Id $GutsArgs.id
$cp = Checkpoint-VM -VM $vm -SnapshotName $GutsArgs.name -Passthru
if (-not $cp) { $cp = @(Get-VMSnapshot -VM $vm -Name $GutsArgs.name)[-1] }
Set-VMSnapshot -VMSnapshot $cp -Notes $GutsArgs.notes
[ordered]@{ State = [int]$vm.State; CheckpointId = $cp.Id.ToString(); CheckpointName = [string]$cp.Name; CheckpointType = [int]$cp.CheckpointType
  SnapshotType = [int]$cp.SnapshotType; Drives = @(Get-GutsDrives $cp.HardDrives $true) }`

/** Removes (merges) one checkpoint by id; one already gone is fine. */
export const REMOVE_CHECKPOINT = `
$vm = Get-VM -Id $GutsArgs.vmId
$cp = @(Get-VMSnapshot -VM $vm | Where-Object { $_.Id.ToString() -eq $GutsArgs.checkpointId })
foreach ($c in $cp) { Remove-VMSnapshot -VMSnapshot $c -Confirm:$false }
[ordered]@{ Removed = $cp.Count }`

/**
 * Removes the VM's checkpoints that carry every mark (Notes lines key=value), or that bear the
 * migration's checkpoint name with empty Notes: a process that died between Checkpoint-VM and
 * Set-VMSnapshot left one like that.
 */
export const RELEASE_LEFTOVERS = `
$vm = Get-VM -Id $GutsArgs.vmId
$marks = @($GutsArgs.marks)
$found = @(Get-VMSnapshot -VM $vm | Where-Object {
  $notes = [string]$_.Notes
  $all = $true
  foreach ($m in $marks) { if (-not ($notes -split "\\r?\\n" -contains $m)) { $all = $false } }
  ($marks.Count -gt 0 -and $all) -or ([string]$_.Name -eq $GutsArgs.name -and -not $notes)
})
foreach ($c in $found) { Remove-VMSnapshot -VMSnapshot $c -Confirm:$false }
[ordered]@{ Removed = $found.Count; Names = @($found | ForEach-Object { [string]$_.Name }) }`
