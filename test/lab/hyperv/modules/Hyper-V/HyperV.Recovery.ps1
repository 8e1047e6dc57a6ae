# Recovery snapshots and reference points through WMI: the bodies of the root/virtualization/v2
# methods behind the lab's Invoke-CimMethod (CimCmdlets.psm1 checks the call the way CIM does, then
# runs Invoke-LabCimMethod in this module's scope).  They work on the same host model and with the same
# checkpoint machinery as Checkpoint-VM / Remove-VMSnapshot (HyperV.Snapshot.ps1), and answer the way
# VMMS does: ReturnValue 4096 and a job (HyperV.CimJobs.cs) whose end state tells success or failure;
# a parameter VMMS refuses before starting a job: its ReturnValue and no job.
#
# Documented by Microsoft and kept: CreateSnapshot SnapshotType 2 (full snapshot) and 32768 (recovery
# snapshot); only recovery snapshots convert to reference points (else 6, Invalid Type); the conversion
# deletes the snapshot; DestroyReferencePoint deletes one; JobType 70 (Snapshot Virtual Machine), 72
# (Delete Virtual Machine Snapshot), 200 (Convert Snapshot to Reference Point), 202 (Delete Reference Point).

function Find-LabSnapshotByInstanceId([string]$InstanceId) {
    if ($InstanceId -notmatch '^Microsoft:(?<g>[0-9a-fA-F-]{36})$') { return }
    foreach ($v in @((Read-LabModel).VMs)) {
        $s = Get-LabSnapshotRecord $v $Matches['g']
        if ($s) { return [pscustomobject]@{ VM = $v; Snapshot = $s } }
    }
}

function Find-LabReferencePoint([string]$InstanceId) {
    foreach ($v in @((Read-LabModel).VMs)) {
        foreach ($rp in @($v.LabReferencePoints)) { if ($rp -and $rp.InstanceID -eq $InstanceId) { return [pscustomobject]@{ VM = $v; RP = $rp } } }
    }
}

# A job for the work just done (Error: $null = it succeeded); the out parameters of the method.
function New-LabJobResult([int]$JobType, [string]$Caption, [string]$Description, [string]$Error, [object[]]$Affected, [hashtable]$Out = @{}) {
    $id = [GutsLab.CimJobs]::Add((Get-LabModelPath), $JobType, $Caption, $Description, $Error, @($Affected | Where-Object { $_ }))
    $Out.Job = $id
    @{ ReturnValue = [uint32]4096; Out = $Out }
}
function New-LabReturn([uint32]$Value, [hashtable]$Out = @{}) { @{ ReturnValue = $Value; Out = $Out } }
function New-LabAffected([string]$Class, [hashtable]$Keys) { [ordered]@{ Class = $Class; Keys = $Keys } }
# (the fault checks' scriptblocks run inside Use-LabFault: they must not use its variable names, $hit, $f, $all)

# Invoke-LabCimMethod CLASS METHOD IN: IN holds the checked arguments (references as the rows of the
# instances they name).  Returns @{ ReturnValue; Out = @{ Job = <job InstanceID> ... } }.
function Invoke-LabCimMethod([string]$Class, [string]$Method, [hashtable]$In) {
    switch ("$Class.$Method") {
        'Msvm_VirtualSystemSnapshotService.CreateSnapshot' { Invoke-LabCreateSnapshot $In }
        'Msvm_VirtualSystemSnapshotService.ConvertToReferencePoint' { Invoke-LabConvertToReferencePoint $In }
        'Msvm_VirtualSystemSnapshotService.DestroySnapshot' { Invoke-LabDestroySnapshot $In }
        'Msvm_VirtualSystemReferencePointService.DestroyReferencePoint' { Invoke-LabDestroyReferencePoint $In }
        default { throw "guts lab: $Class.$Method is not emulated" }
    }
}

function Invoke-LabCreateSnapshot([hashtable]$In) {
    $cs = $In.AffectedSystem
    $type = $In.SnapshotType
    $settings = [GutsLab.CimV2]::ParseSnapshotSettings([string]$In.SnapshotSettings)
    # the host's own Msvm_ComputerSystem is no virtual machine
    if (-not $cs -or $cs.Class -ne 'Msvm_ComputerSystem' -or $cs.Row.Caption -ne 'Virtual Machine') { return New-LabReturn 32773 @{ ResultingSnapshot = $null } }
    if ($null -eq $type -or [int]$type -notin 2, 32768 -or $null -eq $settings) { return New-LabReturn 32773 @{ ResultingSnapshot = $null } }
    $r = Get-LabVMRecord ([guid]$cs.Row.Name)
    $recovery = [int]$type -eq 32768
    $caption = if ($recovery) { 'Creating a recovery snapshot' } else { 'Creating a snapshot' }
    $desc = "Creating a snapshot of virtual machine '$($r.Name)'"
    $fault = Use-LabFault 'CreateSnapshot' { param($m) "$($r.Name) $($r.Id)".IndexOf($m, [StringComparison]::OrdinalIgnoreCase) -ge 0 }
    if ($fault) { return New-LabJobResult 70 $caption $desc $fault @() @{ ResultingSnapshot = $null } }
    $kind = if ($recovery) { 'Recovery' } else { 'Full' }
    $res = New-LabCheckpointCore $r $null -Kind $kind -IgnoreNonSnapshottable:([bool]$settings.IgnoreNonSnapshottableDisks) -Consistency ([int]$settings.ConsistencyLevel)
    if ($res.Error) { return New-LabJobResult 70 $caption $desc ([string]$res.Error.Exception.Message) @() @{ ResultingSnapshot = $null } }
    $affected = @(
        (New-LabAffected 'Msvm_ComputerSystem' @{ CreationClassName = 'Msvm_ComputerSystem'; Name = ([string]$r.Id).ToUpperInvariant() }),
        (New-LabAffected 'Msvm_VirtualSystemSettingData' @{ InstanceID = [GutsLab.CimV2]::SnapshotInstanceId([string]$res.Snapshot.Id) }))
    # an asynchronous call names the snapshot through the job (Msvm_AffectedJobElement), not here
    New-LabJobResult 70 $caption $desc $null $affected @{ ResultingSnapshot = $null }
}

function Invoke-LabConvertToReferencePoint([hashtable]$In) {
    $ref = $In.AffectedSnapshot
    if (-not $ref -or $ref.Class -ne 'Msvm_VirtualSystemSettingData') { return New-LabReturn 4 @{ ResultingReferencePoint = $null } }
    $hit = Find-LabSnapshotByInstanceId ([string]$ref.Row.InstanceID)
    # the VM's own settings, or a checkpoint other than a recovery snapshot: Invalid Type
    if (-not $hit -or [string]$hit.Snapshot.SnapshotType -ne 'Recovery') { return New-LabReturn 6 @{ ResultingReferencePoint = $null } }
    $v0 = $hit.VM; $sn0 = $hit.Snapshot
    $caption = 'Converting a snapshot to a reference point'
    $desc = "Converting snapshot '$($sn0.Name)' of virtual machine '$($v0.Name)' to a reference point"
    $fault = Use-LabFault 'ConvertToReferencePoint' { param($m) "$($v0.Name) $($v0.Id) $($sn0.Name)".IndexOf($m, [StringComparison]::OrdinalIgnoreCase) -ge 0 }
    if ($fault) { return New-LabJobResult 200 $caption $desc $fault @() @{ ResultingReferencePoint = $null } }
    if (-not [GutsLab.Rct]::VersionSupports($v0)) {
        # lab wording: reference points are RCT-based, and RCT needs configuration version 6.2
        $why = "The operation is not supported for virtual machine '{0}': its configuration version {1} has no Resilient Change Tracking. (Virtual machine ID {2})" -f $v0.Name, $v0.Version, ([string]$v0.Id).ToUpperInvariant()
        return New-LabJobResult 200 $caption $desc $why @() @{ ResultingReferencePoint = $null }
    }
    $rpId = 'Microsoft:' + [guid]::NewGuid().ToString().ToUpperInvariant()
    $vmId = [string]$v0.Id; $snId = [string]$sn0.Id
    try {
        Update-LabModel {
            param($m)
            $v = $null
            foreach ($x in $m.VMs) { if ($x.Id -eq $vmId) { $v = $x } }
            $sn = Get-LabSnapshotRecord $v $snId
            $rct = [Collections.Generic.List[string]]::new(); $disks = [Collections.Generic.List[string]]::new()
            foreach ($fd in $sn.HardDrives) {
                if (-not $fd.LabRctId) { continue }   # VHD files and pass-through disks have no RCT id
                $rct.Add([string]$fd.LabRctId)
                $disks.Add(('Microsoft:{0}\{1}\{2}\{3}\L' -f $vmId.ToUpperInvariant(), $fd.ControllerType, $fd.ControllerNumber, $fd.ControllerLocation))
            }
            # the reference point holds what the snapshot sealed before the merge lets anything go
            $rp = [ordered]@{ InstanceID = $rpId; ConsistencyLevel = if ($sn.LabConsistency) { [int]$sn.LabConsistency } else { 1 }
                CreationTime = [datetime]::UtcNow.ToString('o'); ResilientChangeTrackingIdentifiers = $rct.ToArray(); VirtualDiskIdentifiers = $disks.ToArray() }
            $v.LabReferencePoints = @(@($v.LabReferencePoints | Where-Object { $_ }) + $rp)
            $null = Remove-LabCheckpointIn $m $vmId $snId
        }
    } catch {
        return New-LabJobResult 200 $caption $desc "The operation failed.`nguts lab: $($_.Exception.Message)" @() @{ ResultingReferencePoint = $null }
    }
    New-LabJobResult 200 $caption $desc $null @((New-LabAffected 'Msvm_VirtualSystemReferencePoint' @{ InstanceID = $rpId })) @{ ResultingReferencePoint = $null }
}

function Invoke-LabDestroySnapshot([hashtable]$In) {
    $ref = $In.AffectedSnapshot
    if (-not $ref -or $ref.Class -ne 'Msvm_VirtualSystemSettingData') { return New-LabReturn 4 }
    $found = Find-LabSnapshotByInstanceId ([string]$ref.Row.InstanceID)
    if (-not $found) { return New-LabReturn 6 }
    $caption = 'Deleting a snapshot'
    $desc = "Deleting snapshot '$($found.Snapshot.Name)' of virtual machine '$($found.VM.Name)'"
    $fault = Use-LabFault 'DestroySnapshot' { param($m) "$($found.VM.Name) $($found.VM.Id) $($found.Snapshot.Name)".IndexOf($m, [StringComparison]::OrdinalIgnoreCase) -ge 0 }
    if ($fault) { return New-LabJobResult 72 $caption $desc $fault @() }
    try { Remove-LabCheckpoint $null ([string]$found.VM.Id) ([string]$found.Snapshot.Id) }
    catch { return New-LabJobResult 72 $caption $desc "The operation failed.`nguts lab: $($_.Exception.Message)" @() }
    New-LabJobResult 72 $caption $desc $null @((New-LabAffected 'Msvm_ComputerSystem' @{ CreationClassName = 'Msvm_ComputerSystem'; Name = ([string]$found.VM.Id).ToUpperInvariant() }))
}

function Invoke-LabDestroyReferencePoint([hashtable]$In) {
    $ref = $In.AffectedReferencePoint
    if (-not $ref -or $ref.Class -ne 'Msvm_VirtualSystemReferencePoint') { return New-LabReturn 4 }
    $found = Find-LabReferencePoint ([string]$ref.Row.InstanceID)
    if (-not $found) { return New-LabReturn 4 }
    $caption = 'Deleting a reference point'
    $desc = "Deleting a reference point of virtual machine '$($found.VM.Name)'"
    $fault = Use-LabFault 'DestroyReferencePoint' { param($m) "$($found.VM.Name) $($found.VM.Id) $($found.RP.InstanceID)".IndexOf($m, [StringComparison]::OrdinalIgnoreCase) -ge 0 }
    if ($fault) { return New-LabJobResult 202 $caption $desc $fault @() }
    $vmId = [string]$found.VM.Id; $rpId = [string]$found.RP.InstanceID
    Update-LabModel {
        param($m)
        foreach ($v in $m.VMs) {
            if ($v.Id -ne $vmId) { continue }
            $v.LabReferencePoints = @($v.LabReferencePoints | Where-Object { $_ -and $_.InstanceID -ne $rpId })
            [GutsLab.Rct]::Retain($v)
            [GutsLab.Rct]::WriteSidecars($v, $env:GUTS_LAB_HYPERV_CROOT)
        }
    }
    New-LabJobResult 202 $caption $desc $null @((New-LabAffected 'Msvm_ComputerSystem' @{ CreationClassName = 'Msvm_ComputerSystem'; Name = $vmId.ToUpperInvariant() }))
}
