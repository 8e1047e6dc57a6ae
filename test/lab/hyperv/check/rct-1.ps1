# hyperv-lab.sh check, Resilient Change Tracking part 1 (web01, the check's own VM), through the sshd
# like a driver: a fault armed on CreateSnapshot fails the job (JobState 10) and makes nothing; an
# invalid SnapshotType; a recovery snapshot through CIM (the job advances 4 -> 7, the snapshot named by
# Msvm_AffectedJobElement, Recovery in Get-VMSnapshot, renamed); the RctIds Get-VHD shows on the frozen
# files and the leaves; the conversion to a reference point (the snapshot merged away, the RP holding
# the sealed ids).  Leftovers of an interrupted earlier check go first.  One JSON line.
$ErrorActionPreference = 'Stop'
$ns = 'root\virtualization\v2'
$o = [ordered]@{}
$vm = Get-VM -Name web01
$cs = Get-CimInstance -Namespace $ns -ClassName Msvm_ComputerSystem -Filter "Name='$($vm.Id)'"
$svc = Get-CimInstance -Namespace $ns -ClassName Msvm_VirtualSystemSnapshotService
$rps = Get-CimInstance -Namespace $ns -ClassName Msvm_VirtualSystemReferencePointService
$settings = '<INSTANCE CLASSNAME="Msvm_VirtualSystemSnapshotSettingData"><PROPERTY NAME="ConsistencyLevel" TYPE="uint8"><VALUE>2</VALUE></PROPERTY></INSTANCE>'
function Wait-CheckJob($r) {
    $states = @(); $j = $r.Job
    do { $j = Get-CimInstance -InputObject $j; $states += [int]$j.JobState; if ($j.JobState -eq 4) { Start-Sleep -Milliseconds 100 } } while ($j.JobState -eq 4 -and $states.Count -lt 20)
    [pscustomobject]@{ Job = $j; States = $states -join ',' }
}
foreach ($x in @(Get-CimAssociatedInstance -InputObject $cs -Association Msvm_ReferencePointOfVirtualSystem)) {
    $null = Wait-CheckJob (Invoke-CimMethod -InputObject $rps -MethodName DestroyReferencePoint -Arguments @{ AffectedReferencePoint = $x })
}
Get-VMSnapshot -VM $vm | Where-Object Name -like 'guts-check*' | Remove-VMSnapshot

$r = Invoke-CimMethod -InputObject $svc -MethodName CreateSnapshot -Arguments @{ AffectedSystem = $cs; SnapshotSettings = $settings; SnapshotType = [uint16]32768 }
$w = Wait-CheckJob $r
$o.Fault = [ordered]@{ ReturnValue = [int]$r.ReturnValue; States = $w.States; ErrorCode = [int]$w.Job.ErrorCode; ErrorDescription = [string]$w.Job.ErrorDescription; Snapshots = @(Get-VMSnapshot -VM $vm).Count }
$o.Type3 = [int](Invoke-CimMethod -InputObject $svc -MethodName CreateSnapshot -Arguments @{ AffectedSystem = $cs; SnapshotSettings = ''; SnapshotType = [uint16]3 }).ReturnValue

$r = Invoke-CimMethod -InputObject $svc -MethodName CreateSnapshot -Arguments @{ AffectedSystem = $cs; SnapshotSettings = $settings; SnapshotType = [uint16]32768 }
$w = Wait-CheckJob $r
$snap = Get-CimAssociatedInstance -InputObject $w.Job -Association Msvm_AffectedJobElement -ResultClassName Msvm_VirtualSystemSettingData
$id = ([string]$snap.InstanceID) -replace '^Microsoft:', ''
$cp = Get-VMSnapshot -VM $vm | Where-Object { $_.Id.ToString() -eq $id }
Rename-VMSnapshot -VMSnapshot $cp -NewName 'guts-check rct'
$o.Snapshot = [ordered]@{ ReturnValue = [int]$r.ReturnValue; States = $w.States; JobType = [int]$w.Job.JobType; Resulting = $null -eq $r.ResultingSnapshot
    Type = [string]$snap.VirtualSystemType; SnapshotType = [int](Get-VMSnapshot -VM $vm -Name 'guts-check rct').SnapshotType
    Frozen = @($cp.HardDrives | ForEach-Object { (Get-VHD -Path $_.Path).RctId }); Leaf = @(Get-VMHardDiskDrive -VM $vm | ForEach-Object { (Get-VHD -Path $_.Path).RctId }) }

$r = Invoke-CimMethod -InputObject $svc -MethodName ConvertToReferencePoint -Arguments @{ AffectedSnapshot = $snap }
$w = Wait-CheckJob $r
$rp = Get-CimAssociatedInstance -InputObject $w.Job -Association Msvm_AffectedJobElement -ResultClassName Msvm_VirtualSystemReferencePoint
$o.Convert = [ordered]@{ ReturnValue = [int]$r.ReturnValue; States = $w.States; JobType = [int]$w.Job.JobType; InstanceID = [string]$rp.InstanceID
    Rct = @($rp.ResilientChangeTrackingIdentifiers); Type = [int]$rp.ReferencePointType; Snapshots = @(Get-VMSnapshot -VM $vm).Count
    Drives = @((Get-VMHardDiskDrive -VM $vm).Path); Listed = @(Get-CimAssociatedInstance -InputObject $cs -Association Msvm_ReferencePointOfVirtualSystem).Count }
$o | ConvertTo-Json -Depth 4 -Compress
