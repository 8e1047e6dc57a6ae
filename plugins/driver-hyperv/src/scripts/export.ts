import { DRIVES_FUNCTION } from './drives.js'

/**
 * Export scripts. A live export takes a checkpoint and reads the files it froze: after
 * Checkpoint-VM every drive writes to a new differencing disk, and the checkpoint's own drives
 * name the files that no longer change. Hyper-V lets nothing but a name be set on a checkpoint
 * (there is no Set-VMSnapshot), so the name carries the migration's mark: `guts <migration id>`,
 * set in the same call that makes it, so that a later process finds it whatever happens after.
 */

/** Cold: the VM must be off; the chains of its drives as they are now. */
export const COLD_EXPORT = `${DRIVES_FUNCTION}
$vm = Get-VM -Id $GutsArgs.id
[ordered]@{ State = [int]$vm.State; Drives = @(Get-GutsDrives (Get-VMHardDiskDrive -VM $vm) $true) }`

/** Snapshot: a checkpoint named for the migration; the chains it froze. */
export const CHECKPOINT_EXPORT = `${DRIVES_FUNCTION}
$vm = Get-VM -Id $GutsArgs.id
$cp = Checkpoint-VM -VM $vm -SnapshotName $GutsArgs.name -Passthru
if (-not $cp) { $cp = @(Get-VMSnapshot -VM $vm -Name $GutsArgs.name)[-1] }
try {
  $drives = @(Get-GutsDrives $cp.HardDrives $true)
} catch {
  # Nothing may stay behind when the export cannot go on: merge the checkpoint away again.
  Remove-VMSnapshot -VMSnapshot $cp -Confirm:$false -ErrorAction SilentlyContinue
  throw
}
[ordered]@{ State = [int]$vm.State; CheckpointId = $cp.Id.ToString(); CheckpointName = [string]$cp.Name; CheckpointType = [int]$cp.CheckpointType
  SnapshotType = [int]$cp.SnapshotType; Drives = $drives }`

/** Removes (merges) one checkpoint by id; one already gone is fine. */
export const REMOVE_CHECKPOINT = `
$vm = Get-VM -Id $GutsArgs.vmId
$cp = @(Get-VMSnapshot -VM $vm | Where-Object { $_.Id.ToString() -eq $GutsArgs.checkpointId })
foreach ($c in $cp) { Remove-VMSnapshot -VMSnapshot $c -Confirm:$false }
[ordered]@{ Removed = $cp.Count }`

/** Removes the VM's checkpoints that bear the migration's checkpoint name (left by an export that died). */
export const RELEASE_LEFTOVERS = `
$vm = Get-VM -Id $GutsArgs.vmId
$found = @(Get-VMSnapshot -VM $vm | Where-Object { [string]$_.Name -ceq $GutsArgs.name })
foreach ($c in $found) { Remove-VMSnapshot -VMSnapshot $c -Confirm:$false }
[ordered]@{ Removed = $found.Count; Names = @($found | ForEach-Object { [string]$_.Name }) }`
