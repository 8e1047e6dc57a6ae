# Checkpoints (VM snapshots): Checkpoint-VM, Get-VMSnapshot, Remove-VMSnapshot, Rename-VMSnapshot.
#
# The model: each VM record has Snapshots (checkpoint records, oldest first) and ParentSnapshotId
# (the checkpoint the running state derives from).  A checkpoint freezes the VM's disks: every
# drive gets a new differencing disk <base>_<GUID>.avhdx (.avhd for VHD) next to the file it used,
# whose parent is that file; the checkpoint's HardDrives keep the frozen files.  Removing a
# checkpoint merges the differencing disk that was made when it was taken into the checkpoint's
# frozen file (a real data merge, GutsLab.Chain) and re-parents that disk's child; the VM's drive
# goes back to the frozen file when the merged disk was the active one.  Only linear chains
# (no Restore-VMSnapshot, so no branches).

function Get-LabSnapshotRecord($r, $id) {
    foreach ($s in @($r.Snapshots)) { if ($s -and [guid]$s.Id -eq [guid]$id) { return $s } }
}

function New-VMSnapshotObject($r, $sn) {
    $parent = if ($sn.ParentSnapshotId) { Get-LabSnapshotRecord $r $sn.ParentSnapshotId }
    $o = [pscustomobject]@{
        PSTypeName            = 'Microsoft.HyperV.PowerShell.VMSnapshot'
        Name                  = [string]$sn.Name
        Id                    = [guid]$sn.Id
        VMName                = [string]$r.Name
        VMId                  = [guid]$r.Id
        SnapshotType          = [Microsoft.HyperV.PowerShell.SnapshotType]$sn.SnapshotType
        IsAutomaticCheckpoint = $false
        State                 = [Microsoft.HyperV.PowerShell.VMState]$sn.State
        ParentSnapshotId      = if ($sn.ParentSnapshotId) { [guid]$sn.ParentSnapshotId } else { $null }
        ParentSnapshotName    = if ($parent) { [string]$parent.Name } else { $null }
        CreationTime          = (ConvertTo-LabUtc $sn.CreationTime).ToLocalTime()
        # the checkpoint is a copy of the VM's configuration: its notes are the VM's notes then
        Notes                 = [string]$sn.Notes
        Path                  = [string]$r.Path
        Generation            = [int]$r.Generation
        Version               = [string]$r.Version
        ProcessorCount        = [long]$sn.ProcessorCount
        MemoryStartup         = [long]$sn.MemoryStartup
        MemoryMinimum         = [long]$r.MemoryMinimum
        MemoryMaximum         = [long]$r.MemoryMaximum
        DynamicMemoryEnabled  = [bool]$r.DynamicMemoryEnabled
        IsClustered           = [bool]$r.IsClustered
        SizeOfSystemFiles     = [long]0
        HardDrives            = $null
        NetworkAdapters       = $null
        ComputerName          = [string]$env:COMPUTERNAME
        IsDeleted             = $false
    }
    $o.HardDrives = @(foreach ($d in $sn.HardDrives) { New-HardDiskDriveObject $r $d $sn })
    $o.NetworkAdapters = @(foreach ($n in $r.NetworkAdapters) { New-NetworkAdapterObject $r $n })
    # Get-VMSnapshot's default table, and the checkpoint-named aliases of Hyper-V's type data
    $o.PSObject.Members.Add([Management.Automation.PSMemberSet]::new('PSStandardMembers', [Management.Automation.PSMemberInfo[]]@(
                [Management.Automation.PSPropertySet]::new('DefaultDisplayPropertySet', [string[]]@('VMName', 'Name', 'SnapshotType', 'CreationTime', 'ParentSnapshotName')))))
    $o.PSObject.Properties.Add([Management.Automation.PSAliasProperty]::new('ParentCheckpointId', 'ParentSnapshotId'))
    $o.PSObject.Properties.Add([Management.Automation.PSAliasProperty]::new('ParentCheckpointName', 'ParentSnapshotName'))
    $o
}

function New-CheckpointError($Cmdlet, $r, [string]$Reason, [string]$Class = 'CheckpointVM') {
    New-HyperVError ("Checkpoint operation failed for '{0}'. (Virtual machine ID {1})`n{2}" -f $r.Name, $r.Id.ToUpperInvariant(), $Reason) InvalidOperation $r.Name 'OperationFailed' $Class
}

$script:GuidSuffix = '_[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$'

# The checkpoint itself (Checkpoint-VM, the WMI CreateSnapshot of HyperV.Recovery.ps1 and
# `hyperv-lab.sh up`'s seed use this).  Kind: Auto (Checkpoint-VM: the VM's CheckpointType decides),
# Recovery (a backup's recovery snapshot: disk state only, CheckpointType does not apply), Full (WMI
# SnapshotType 2: like Auto).  Returns { Snapshot = the new record | $null; Error = an ErrorRecord;
# Warning = a text } and writes nothing itself.
function New-LabCheckpointCore($r0, [string]$SnapshotName, [string]$Kind = 'Auto', [switch]$IgnoreNonSnapshottable, [int]$Consistency = 1, [string]$Class = 'CheckpointVM') {
    $out = [pscustomobject]@{ Snapshot = $null; Error = $null; Warning = $null }
    $r = Get-LabVMRecord $r0.Id
    $ct = [string]$r.CheckpointType
    $recovery = $Kind -eq 'Recovery'
    if ($ct -eq 'Disabled' -and -not $recovery) {
        $out.Error = New-CheckpointError $null $r "Checkpoints are disabled for '$($r.Name)'." $Class
        return $out
    }
    $skip = @{}   # drives a checkpoint cannot freeze, left out with IgnoreNonSnapshottableDisks
    foreach ($d in $r.HardDrives) {
        $why = if ($null -ne $d.DiskNumber) { "Cannot take a checkpoint of '$($r.Name)' because one or more pass-through disks are attached." }
        elseif ([string]$d.Path -match '\.vhds$') { "guts lab: checkpoints of VMs with a shared VHD Set (.vhds) are not emulated." }   # refuse rather than pretend
        if (-not $why) { continue }
        if (-not $IgnoreNonSnapshottable) { $out.Error = New-CheckpointError $null $r $why $Class; return $out }
        $skip[[string]$d.Path] = $true
    }
    $running = $r.State -eq 'Running'
    # Production: the guest's backup integration service (VSS in Windows, fsfreeze by hv_vss_daemon
    # in Linux) makes the checkpoint consistent; no memory state.  Standard: saved state of a running VM
    # (the lab models the disk side only).  Recovery: disk state, crash or application consistent.
    $kindOut = 'Standard'
    if ($recovery) {
        $kindOut = 'Recovery'
        if ($Consistency -eq 1 -and $running -and $r.LabBackupService -eq $false) {
            # lab wording: an application-consistent backup needs the guest's backup integration service
            $out.Error = New-CheckpointError $null $r ("Production checkpoints cannot be created for '{0}'. (Virtual machine ID {1})" -f $r.Name, $r.Id.ToUpperInvariant()) $Class
            return $out
        }
    } elseif ($ct -eq 'Production' -or $ct -eq 'ProductionOnly') {
        if (-not $running -or $r.LabBackupService -ne $false) { $kindOut = 'Production' }
        elseif ($ct -eq 'ProductionOnly') {
            $out.Error = New-CheckpointError $null $r ("Production checkpoints cannot be created for '{0}'. (Virtual machine ID {1})" -f $r.Name, $r.Id.ToUpperInvariant()) $Class
            return $out
        } else {
            $out.Warning = "Production checkpoints cannot be created for '{0}'. A standard checkpoint will be created instead. (Virtual machine ID {1})" -f $r.Name, $r.Id.ToUpperInvariant()
        }
    }
    $now = [datetime]::UtcNow
    if (-not $SnapshotName) {
        $when = $now.ToLocalTime().ToString('M/d/yyyy - h:mm:ss tt', [Globalization.CultureInfo]::GetCultureInfo('en-US'))
        # lab naming for recovery snapshots (a backup application usually renames or removes them)
        $SnapshotName = if ($recovery) { '{0} - Backup - ({1})' -f $r.Name, $when } else { '{0} - ({1})' -f $r.Name, $when }
    }
    $snId = [guid]::NewGuid().ToString()
    $id = [string]$r.Id
    $made = [Collections.Generic.List[string]]::new()
    $croot = $env:GUTS_LAB_HYPERV_CROOT

    try {
        Update-LabModel {
            param($m)
            $v = $null
            foreach ($x in $m.VMs) { if ($x.Id -eq $id) { $v = $x } }
            $frozen = @()
            foreach ($d in $v.HardDrives) {
                $fz = [ordered]@{ ControllerType = $d.ControllerType; ControllerNumber = $d.ControllerNumber; ControllerLocation = $d.ControllerLocation; Path = $d.Path }
                if ($null -ne $d.DiskNumber) { $fz.DiskNumber = $d.DiskNumber }
                $frozen += $fz
                if ($skip.ContainsKey([string]$d.Path)) { continue }
                $pw = [string]$d.Path
                $dir = $pw.Substring(0, $pw.LastIndexOf('\'))
                $base = [IO.Path]::GetFileNameWithoutExtension($pw.Substring($pw.LastIndexOf('\') + 1)) -replace $script:GuidSuffix, ''
                $ext = if ($pw -match '\.a?vhdx$') { '.avhdx' } else { '.avhd' }
                $cw = '{0}\{1}_{2}{3}' -f $dir, $base, [guid]::NewGuid().ToString().ToUpperInvariant(), $ext
                [GutsLab.Chain]::CreateChild((ConvertTo-LabFsPath $pw), $pw, (ConvertTo-LabFsPath $cw), $cw)
                $made.Add((ConvertTo-LabFsPath $cw))
                # RCT: the freeze seals a new point; the frozen file keeps it, the new leaf continues
                [GutsLab.Rct]::Seal($v, $d, $fz, $croot)
                $d.Path = $cw
            }
            $sn = [ordered]@{
                Id               = $snId
                Name             = $SnapshotName
                SnapshotType     = if ($recovery) { 'Recovery' } else { 'Standard' }
                State            = if ($kindOut -eq 'Standard' -and $running) { 'Saved' } else { 'Off' }
                LabKind          = $kindOut
                ParentSnapshotId = $v.ParentSnapshotId
                CreationTime     = $now.ToString('o')
                Notes            = [string]$v.Notes
                ProcessorCount   = $v.ProcessorCount
                MemoryStartup    = $v.MemoryStartup
                HardDrives       = $frozen
            }
            if ($recovery) { $sn.LabConsistency = $Consistency }
            $v.Snapshots = @(@($v.Snapshots | Where-Object { $_ }) + $sn)
            $v.ParentSnapshotId = $snId
            [GutsLab.Rct]::Retain($v)
            [GutsLab.Rct]::WriteSidecars($v, $croot)
        }
    } catch {
        foreach ($f in $made) { Remove-Item -LiteralPath $f -Force -ErrorAction Ignore; [GutsLab.Rct]::DeleteSidecar($f) }
        $out.Error = New-CheckpointError $null $r "guts lab: $($_.Exception.Message)" $Class
        return $out
    }
    $out.Snapshot = Get-LabSnapshotRecord (Get-LabVMRecord $id) $snId
    $out
}

# Checkpoint-VM's use of it: the warning and the error go to the cmdlet.
function New-LabCheckpoint($Cmdlet, $r0, [string]$SnapshotName) {
    $res = New-LabCheckpointCore $r0 $SnapshotName
    if ($res.Warning) { $Cmdlet.WriteWarning($res.Warning) }
    if ($res.Error) { $Cmdlet.WriteError($res.Error); return }
    $res.Snapshot
}

function Checkpoint-VM {
    [CmdletBinding(DefaultParameterSetName = 'Name', SupportsShouldProcess, ConfirmImpact = 'Low')]
    param(
        [Parameter(ParameterSetName = 'Name', Mandatory, Position = 0, ValueFromPipelineByPropertyName)]
        [Alias('VMName')][ValidateNotNullOrEmpty()][string[]]$Name,
        [Parameter(ParameterSetName = 'VMObject', Mandatory, Position = 0, ValueFromPipeline)]
        [PSTypeName('Microsoft.HyperV.PowerShell.VirtualMachine')][psobject[]]$VM,
        [Parameter(Position = 1)][string]$SnapshotName,
        [switch]$Passthru, [switch]$AsJob,
        [string[]]$ComputerName
    )
    begin { Assert-LabFault $PSCmdlet }
    process {
        foreach ($r in (Resolve-LabVMArgs $PSCmdlet $Name $VM 'CheckpointVM' 'ObjectNotFound')) {
            if (-not $PSCmdlet.ShouldProcess($r.Name, 'Checkpoint-VM')) { continue }
            $sn = New-LabCheckpoint $PSCmdlet $r $SnapshotName
            if ($sn -and $Passthru) { New-VMSnapshotObject (Get-LabVMRecord $r.Id) $sn }
        }
    }
}

# The checkpoints of the VMs behind -VMName / -VM, filtered by -Name (wildcards) and -SnapshotType.
function Select-LabSnapshots($Cmdlet, $records, [string[]]$Name, $SnapshotType, [string]$Class, [switch]$Quiet) {
    foreach ($r in $records) {
        $all = @($r.Snapshots | Where-Object { $_ })
        if (-not $Name) { $pick = $all }
        else {
            $pick = foreach ($n in $Name) {
                $pat = [Management.Automation.WildcardPattern]::new($n, 'IgnoreCase')
                $hits = @($all | Where-Object { $pat.IsMatch($_.Name) })
                if ($hits.Count -eq 0 -and -not (Test-Wildcard $n) -and -not $Quiet) {
                    $Cmdlet.WriteError((New-HyperVError "Hyper-V was unable to find a checkpoint named `"$n`" for virtual machine `"$($r.Name)`"." ObjectNotFound $n 'ObjectNotFound' $Class))
                }
                $hits
            }
        }
        foreach ($s in $pick) {
            if ($null -ne $SnapshotType -and [Microsoft.HyperV.PowerShell.SnapshotType]$s.SnapshotType -ne $SnapshotType) { continue }
            [pscustomobject]@{ VM = $r; Snapshot = $s }
        }
    }
}

function Get-VMSnapshot {
    [CmdletBinding(DefaultParameterSetName = 'VMName')]
    param(
        [Parameter(ParameterSetName = 'VMName', Mandatory, Position = 0, ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()][string[]]$VMName,
        [Parameter(ParameterSetName = 'VMObject', Mandatory, Position = 0, ValueFromPipeline)]
        [PSTypeName('Microsoft.HyperV.PowerShell.VirtualMachine')][psobject[]]$VM,
        [Parameter(ParameterSetName = 'Id', Mandatory, Position = 0)][guid]$Id,
        [Parameter(ParameterSetName = 'Parent', Mandatory)][psobject]$ParentOf,
        [Parameter(ParameterSetName = 'Child', Mandatory)]
        [PSTypeName('Microsoft.HyperV.PowerShell.VMSnapshot')][psobject]$ChildOf,
        [Parameter(ParameterSetName = 'VMName', Position = 1)]
        [Parameter(ParameterSetName = 'VMObject', Position = 1)]
        [Parameter(ParameterSetName = 'Parent', Position = 0)]
        [Parameter(ParameterSetName = 'Child', Position = 0)]
        [string]$Name,
        [Parameter(ParameterSetName = 'VMName')][Parameter(ParameterSetName = 'VMObject')]
        [Parameter(ParameterSetName = 'Parent')][Parameter(ParameterSetName = 'Child')]
        [Alias('VMRecoveryCheckpoint')][Microsoft.HyperV.PowerShell.SnapshotType]$SnapshotType,
        [string[]]$ComputerName
    )
    begin { Assert-LabFault $PSCmdlet }
    process {
        $type = if ($PSBoundParameters.ContainsKey('SnapshotType')) { $SnapshotType } else { $null }
        switch ($PSCmdlet.ParameterSetName) {
            'Id' {
                $hit = $false
                foreach ($r in @((Read-LabModel).VMs)) {
                    $s = Get-LabSnapshotRecord $r $Id
                    if ($s) { $hit = $true; New-VMSnapshotObject $r $s }
                }
                if (-not $hit) {
                    $PSCmdlet.WriteError((New-HyperVError "Hyper-V was unable to find a checkpoint with id `"$Id`"." ObjectNotFound $Id 'ObjectNotFound' 'GetVMSnapshot'))
                }
            }
            'Parent' {
                # the immediate parent checkpoint of a VM or of a checkpoint
                $r = Get-LabVMRecord $ParentOf.VMId
                if (-not $r) { $r = Get-LabVMRecord $ParentOf.Id }
                $pid_ = $ParentOf.ParentSnapshotId
                if ($r -and $pid_) {
                    $s = Get-LabSnapshotRecord $r $pid_
                    if ($s -and (-not $Name -or $s.Name -like $Name) -and ($null -eq $type -or [Microsoft.HyperV.PowerShell.SnapshotType]$s.SnapshotType -eq $type)) { New-VMSnapshotObject $r $s }
                }
            }
            'Child' {
                $r = Get-LabVMRecord $ChildOf.VMId
                foreach ($s in @($r.Snapshots | Where-Object { $_ -and $_.ParentSnapshotId -and [guid]$_.ParentSnapshotId -eq [guid]$ChildOf.Id })) {
                    if ((-not $Name -or $s.Name -like $Name) -and ($null -eq $type -or [Microsoft.HyperV.PowerShell.SnapshotType]$s.SnapshotType -eq $type)) { New-VMSnapshotObject $r $s }
                }
            }
            default {
                # only VMs with checkpoints are looked at (a 1,000-VM host answers in milliseconds)
                $records = [GutsLab.Objects]::WithSnapshots(@(Resolve-LabVMArgs $PSCmdlet $VMName $VM 'GetVMSnapshot'))
                foreach ($p in (Select-LabSnapshots $PSCmdlet $records @($Name | Where-Object { $_ }) $type 'GetVMSnapshot')) { New-VMSnapshotObject $p.VM $p.Snapshot }
            }
        }
    }
}

# Removes one checkpoint: merges the disk made when it was taken into its frozen file, per drive.
function Remove-LabCheckpoint($Cmdlet, [string]$VMId, [string]$SnapshotId) {
    Update-LabModel { param($m) $null = Remove-LabCheckpointIn $m $VMId $SnapshotId }
}

# The same inside an Update-LabModel block (ConvertToReferencePoint adds its reference point in the
# same update, so the points it holds are never dropped in between).  Returns the removed record.
function Remove-LabCheckpointIn($m, [string]$VMId, [string]$SnapshotId) {
    & {
        $v = $null
        foreach ($x in $m.VMs) { if ($x.Id -eq $VMId) { $v = $x } }
        $sn = $null
        foreach ($s in @($v.Snapshots)) { if ($s -and $s.Id -eq $SnapshotId) { $sn = $s } }
        if (-not $sn) { return }
        $others = @($v.Snapshots | Where-Object { $_ -and $_.Id -ne $SnapshotId })
        foreach ($fd in $sn.HardDrives) {
            $slot = { param($d) $d.ControllerType -eq $fd.ControllerType -and [int]$d.ControllerNumber -eq [int]$fd.ControllerNumber -and [int]$d.ControllerLocation -eq [int]$fd.ControllerLocation }
            $fw = [string]$fd.Path; $ff = ConvertTo-LabFsPath $fw
            # every file of this drive slot: the VM's active disk and the other checkpoints' frozen files
            $refs = @(@($v.HardDrives | Where-Object { & $slot $_ }) + @(foreach ($o in $others) { $o.HardDrives | Where-Object { & $slot $_ } }))
            $paths = @($refs | ForEach-Object { [string]$_.Path } | Select-Object -Unique)
            $parentOf = @{}
            foreach ($p in $paths) {
                $pf = ConvertTo-LabFsPath $p
                if (-not [IO.File]::Exists($pf)) { continue }
                $dk = [GutsLab.VDisk]::Open($pf, $false)
                try { if ($dk.IsDifferencing) { $parentOf[$p] = [GutsLab.Chain]::ResolveParent($dk, $env:GUTS_LAB_HYPERV_CROOT) } } finally { $dk.Dispose() }
            }
            $cw = @($paths | Where-Object { $parentOf[$_] -and [IO.Path]::GetFullPath($parentOf[$_]) -eq [IO.Path]::GetFullPath($ff) }) | Select-Object -First 1
            if (-not $cw) { continue }
            $cf = ConvertTo-LabFsPath $cw
            [void][GutsLab.Chain]::MergeIntoParent($cf, $ff, $env:GUTS_LAB_HYPERV_CROOT)
            foreach ($p in $paths) {
                if ($parentOf[$p] -and [IO.Path]::GetFullPath($parentOf[$p]) -eq [IO.Path]::GetFullPath($cf)) {
                    [GutsLab.Chain]::Reparent((ConvertTo-LabFsPath $p), $p, $ff, $fw)
                }
            }
            foreach ($d in $refs) { if ($d.Path -eq $cw) { $d.Path = $fw } }
            [IO.File]::Delete($cf)
            [GutsLab.Rct]::DeleteSidecar($cf)
        }
        foreach ($o in $others) { if ($o.ParentSnapshotId -eq $SnapshotId) { $o.ParentSnapshotId = $sn.ParentSnapshotId } }
        if ($v.ParentSnapshotId -eq $SnapshotId) { $v.ParentSnapshotId = $sn.ParentSnapshotId }
        $v.Snapshots = $others
        # what RCT recorded stays; only history nothing holds any more goes
        [GutsLab.Rct]::Retain($v)
        [GutsLab.Rct]::WriteSidecars($v, $env:GUTS_LAB_HYPERV_CROOT)
        $sn
    }
}

function Remove-VMSnapshot {
    [CmdletBinding(DefaultParameterSetName = 'SnapshotName', SupportsShouldProcess, ConfirmImpact = 'Medium')]
    param(
        [Parameter(ParameterSetName = 'SnapshotName', Mandatory, Position = 0)]
        [ValidateNotNullOrEmpty()][string[]]$VMName,
        [Parameter(ParameterSetName = 'VMObject', Mandatory, Position = 0, ValueFromPipeline)]
        [PSTypeName('Microsoft.HyperV.PowerShell.VirtualMachine')][psobject[]]$VM,
        [Parameter(ParameterSetName = 'SnapshotObject', Mandatory, Position = 0, ValueFromPipeline)]
        [Alias('VMCheckpoint')][PSTypeName('Microsoft.HyperV.PowerShell.VMSnapshot')][psobject[]]$VMSnapshot,
        [Parameter(ParameterSetName = 'SnapshotName', Position = 1)]
        [Parameter(ParameterSetName = 'VMObject', Position = 1)]
        [string[]]$Name,
        [Alias('IncludeAllChildCheckpoints')][switch]$IncludeAllChildSnapshots,
        [switch]$Passthru, [switch]$AsJob,
        [string[]]$ComputerName
    )
    begin { Assert-LabFault $PSCmdlet }
    process {
        $targets = if ($PSCmdlet.ParameterSetName -eq 'SnapshotObject') {
            foreach ($s in $VMSnapshot) {
                $r = Get-LabVMRecord $s.VMId
                $rec = if ($r) { Get-LabSnapshotRecord $r $s.Id }
                if (-not $rec) {
                    $PSCmdlet.WriteError((New-HyperVError "Hyper-V was unable to find a checkpoint with id `"$($s.Id)`"." ObjectNotFound $s.Name 'ObjectNotFound' 'RemoveVMSnapshot'))
                    continue
                }
                [pscustomobject]@{ VM = $r; Snapshot = $rec }
            }
        } else {
            Select-LabSnapshots $PSCmdlet (Resolve-LabVMArgs $PSCmdlet $VMName $VM 'RemoveVMSnapshot') $Name $null 'RemoveVMSnapshot'
        }
        foreach ($t in @($targets)) {
            $r = Get-LabVMRecord $t.VM.Id
            if (-not (Get-LabSnapshotRecord $r $t.Snapshot.Id)) { continue }   # already gone (a child of one removed before)
            if (-not $PSCmdlet.ShouldProcess($t.Snapshot.Name, 'Remove-VMSnapshot')) { continue }
            $ids = [Collections.Generic.List[string]]::new()
            if ($IncludeAllChildSnapshots) {
                # the subtree, newest first
                $queue = [Collections.Generic.List[string]]::new(); $queue.Add([string]$t.Snapshot.Id)
                for ($i = 0; $i -lt $queue.Count; $i++) {
                    foreach ($c in @($r.Snapshots | Where-Object { $_ -and $_.ParentSnapshotId -eq $queue[$i] })) { $queue.Add([string]$c.Id) }
                }
                for ($i = $queue.Count - 1; $i -ge 0; $i--) { $ids.Add($queue[$i]) }
            } else { $ids.Add([string]$t.Snapshot.Id) }
            try {
                foreach ($sid in $ids) { Remove-LabCheckpoint $PSCmdlet ([string]$r.Id) $sid }
            } catch {
                $PSCmdlet.WriteError((New-HyperVError ("The operation failed.`nguts lab: {0}" -f $_.Exception.Message) InvalidOperation $t.Snapshot.Name 'OperationFailed' 'RemoveVMSnapshot'))
                continue
            }
            if ($Passthru) { New-VMSnapshotObject $r $t.Snapshot }
        }
    }
}

function Rename-VMSnapshot {
    [CmdletBinding(DefaultParameterSetName = 'SnapshotName', SupportsShouldProcess, ConfirmImpact = 'Medium')]
    param(
        [Parameter(ParameterSetName = 'SnapshotName', Mandatory, Position = 0)]
        [Parameter(ParameterSetName = 'VM', Mandatory, Position = 1)]
        [string]$Name,
        [Parameter(ParameterSetName = 'SnapshotName', Mandatory, Position = 1)][string]$VMName,
        [Parameter(ParameterSetName = 'VM', Mandatory, Position = 0, ValueFromPipeline)]
        [PSTypeName('Microsoft.HyperV.PowerShell.VirtualMachine')][psobject]$VM,
        [Parameter(ParameterSetName = 'SnapshotObject', Mandatory, Position = 0, ValueFromPipeline)]
        [Alias('VMCheckpoint')][PSTypeName('Microsoft.HyperV.PowerShell.VMSnapshot')][psobject]$VMSnapshot,
        [Parameter(Mandatory, Position = 2)][string]$NewName,
        [switch]$Passthru,
        [string[]]$ComputerName
    )
    begin { Assert-LabFault $PSCmdlet }
    process {
        $targets = switch ($PSCmdlet.ParameterSetName) {
            'SnapshotObject' { $r = Get-LabVMRecord $VMSnapshot.VMId; if ($r) { [pscustomobject]@{ VM = $r; Snapshot = (Get-LabSnapshotRecord $r $VMSnapshot.Id) } } }
            'VM' { Select-LabSnapshots $PSCmdlet @(Get-LabVMRecord $VM.Id) @($Name) $null 'RenameVMSnapshot' }
            default { Select-LabSnapshots $PSCmdlet (Find-LabVM $PSCmdlet @($VMName) 'RenameVMSnapshot') @($Name) $null 'RenameVMSnapshot' }
        }
        foreach ($t in @($targets | Where-Object { $_.Snapshot })) {
            if (-not $PSCmdlet.ShouldProcess($t.Snapshot.Name, 'Rename-VMSnapshot')) { continue }
            $vid = [string]$t.VM.Id; $sid = [string]$t.Snapshot.Id
            Update-LabModel {
                param($m)
                foreach ($x in $m.VMs) { if ($x.Id -eq $vid) { foreach ($s in @($x.Snapshots)) { if ($s -and $s.Id -eq $sid) { $s.Name = $NewName } } } }
            }
            if ($Passthru) { $r = Get-LabVMRecord $vid; New-VMSnapshotObject $r (Get-LabSnapshotRecord $r $sid) }
        }
    }
}
