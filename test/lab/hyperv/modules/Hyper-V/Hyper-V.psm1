# guts lab: the Hyper-V module.  Advanced functions with the real cmdlets' names, parameter sets,
# pipeline binding, output property names, enum types and error records, over the lab's host
# model (HyperV.Model.ps1), checkpoints (HyperV.Snapshot.ps1) and the real disk files (the lab's
# own VHDX/VHD code, HyperV.Disk.cs, compiled with the enum types in HyperV.Types.ps1).  Emulates what the driver
# uses; see LAB-NOTES.md for what is not emulated.
. $PSScriptRoot/HyperV.Types.ps1
. $PSScriptRoot/HyperV.Model.ps1
. $PSScriptRoot/HyperV.Snapshot.ps1
. $PSScriptRoot/HyperV.Recovery.ps1

# Output objects are built by GutsLab.Objects (HyperV.Objects.cs): the same type names and property
# order as the real ones; the default table columns (Get-VM: Name, State, CPUUsage, MemoryAssigned,
# Uptime, Status, Version) and the ParentCheckpointId/Name aliases ride on each object, not on
# Update-TypeData (whose first call costs ~150 ms per session).

function Get-VMHost {
    [CmdletBinding()]
    param([string[]]$ComputerName = @($env:COMPUTERNAME))
    Assert-LabFault $PSCmdlet
    foreach ($cn in $ComputerName) {
        $mem = [uint64]0
        foreach ($l in [IO.File]::ReadAllLines('/proc/meminfo')) {
            if ($l -match '^MemTotal:\s+(\d+) kB') { $mem = [uint64]$Matches[1] * 1024 }
        }
        [pscustomobject]@{
            PSTypeName            = 'Microsoft.HyperV.PowerShell.VMHost'
            ComputerName          = [string]$env:COMPUTERNAME
            Name                  = [string]$env:COMPUTERNAME
            LogicalProcessorCount = [int][Environment]::ProcessorCount
            MemoryCapacity        = $mem
            VirtualHardDiskPath   = 'C:\Hyper-V\Virtual Hard Disks'
            VirtualMachinePath    = 'C:\Hyper-V'
        }
    }
}

# $sn: the checkpoint record when the drive belongs to a checkpoint (VMSnapshotId/Name set)
function New-HardDiskDriveObject($r, $d, $sn) { [GutsLab.Objects]::HardDiskDrive($r, $d, $sn) }
function New-NetworkAdapterObject($r, $n) { [GutsLab.Objects]::NetworkAdapter($r, $n) }

# pwsh 7's ConvertFrom-Json already turns ISO strings into DateTime; the model may hold either
function ConvertTo-LabUtc($v) {
    if ($v -is [datetime]) { return $v.ToUniversalTime() }
    [datetime]::Parse([string]$v, [Globalization.CultureInfo]::InvariantCulture, [Globalization.DateTimeStyles]::RoundtripKind).ToUniversalTime()
}

function New-VMObject($r) { [GutsLab.Objects]::VM($r, [GutsLab.Objects]::ParentSnapshotName($r)) }

function Get-VM {
    [CmdletBinding(DefaultParameterSetName = 'Name')]
    param(
        [Parameter(ParameterSetName = 'Name', Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)]
        [Alias('VMName')][ValidateNotNullOrEmpty()][string[]]$Name,
        [Parameter(ParameterSetName = 'Id', Position = 0, Mandatory, ValueFromPipelineByPropertyName)]
        [Alias('VMId')][guid]$Id,
        [string[]]$ComputerName
    )
    begin { Assert-LabFault $PSCmdlet }
    process {
        if ($PSCmdlet.ParameterSetName -eq 'Id') {
            $r = Get-LabVMRecord $Id
            if (-not $r) {
                $PSCmdlet.WriteError((New-HyperVError "Hyper-V was unable to find a virtual machine with id `"$Id`"." ObjectNotFound $Id 'InvalidParameter' 'GetVM'))
            }
        } else { $r = Find-LabVM $PSCmdlet $Name 'GetVM' }
        [GutsLab.Objects]::VMs(@($r))
    }
}

# -VMName (wildcards) or -VM (objects from Get-VM, by the pipeline): the common parameter sets of
# the VM-device cmdlets.
function Get-VMHardDiskDrive {
    [CmdletBinding(DefaultParameterSetName = 'VMName')]
    param(
        [Parameter(ParameterSetName = 'VMName', Mandatory, Position = 0, ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()][string[]]$VMName,
        [Parameter(ParameterSetName = 'VMObject', Mandatory, Position = 0, ValueFromPipeline)]
        [PSTypeName('Microsoft.HyperV.PowerShell.VirtualMachine')][psobject[]]$VM,
        [Microsoft.HyperV.PowerShell.ControllerType]$ControllerType,
        [int]$ControllerNumber,
        [int]$ControllerLocation,
        [string[]]$ComputerName
    )
    begin { Assert-LabFault $PSCmdlet }
    process {
        $records = Resolve-LabVMArgs $PSCmdlet $VMName $VM 'GetVMHardDiskDrive'
        if (-not ($PSBoundParameters.ContainsKey('ControllerType') -or $PSBoundParameters.ContainsKey('ControllerNumber') -or $PSBoundParameters.ContainsKey('ControllerLocation'))) {
            return [GutsLab.Objects]::HardDrives(@($records))
        }
        foreach ($r in $records) {
            foreach ($d in $r.HardDrives) {
                $o = New-HardDiskDriveObject $r $d
                if ($PSBoundParameters.ContainsKey('ControllerType') -and $o.ControllerType -ne $ControllerType) { continue }
                if ($PSBoundParameters.ContainsKey('ControllerNumber') -and $o.ControllerNumber -ne $ControllerNumber) { continue }
                if ($PSBoundParameters.ContainsKey('ControllerLocation') -and $o.ControllerLocation -ne $ControllerLocation) { continue }
                $o
            }
        }
    }
}

function Get-VMNetworkAdapter {
    [CmdletBinding(DefaultParameterSetName = 'VMName')]
    param(
        [Parameter(ParameterSetName = 'VMName', Mandatory, Position = 0, ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()][string[]]$VMName,
        [Parameter(ParameterSetName = 'VMObject', Mandatory, Position = 0, ValueFromPipeline)]
        [PSTypeName('Microsoft.HyperV.PowerShell.VirtualMachine')][psobject[]]$VM,
        [Parameter(ParameterSetName = 'All', Mandatory)][switch]$All,
        [string]$Name,
        [string[]]$ComputerName
    )
    begin { Assert-LabFault $PSCmdlet }
    process {
        $records = if ($All) { @((Read-LabModel).VMs) } else { Resolve-LabVMArgs $PSCmdlet $VMName $VM 'GetVMNetworkAdapter' }
        [GutsLab.Objects]::NetworkAdapters(@($records), $Name)
    }
}

function Get-VMNetworkAdapterVlan {
    [CmdletBinding(DefaultParameterSetName = 'VMName')]
    param(
        [Parameter(ParameterSetName = 'VMName', Mandatory, Position = 0)][string[]]$VMName,
        [Parameter(ParameterSetName = 'VMObject', Mandatory, Position = 0)]
        [PSTypeName('Microsoft.HyperV.PowerShell.VirtualMachine')][psobject[]]$VM,
        [Parameter(ParameterSetName = 'Adapter', Mandatory, ValueFromPipeline)]
        [PSTypeName('Microsoft.HyperV.PowerShell.VMNetworkAdapter')][psobject[]]$VMNetworkAdapter
    )
    begin { Assert-LabFault $PSCmdlet }
    process {
        $adapters = if ($VMNetworkAdapter) { $VMNetworkAdapter } else {
            foreach ($r in (Resolve-LabVMArgs $PSCmdlet $VMName $VM 'GetVMNetworkAdapterVlan')) { foreach ($n in $r.NetworkAdapters) { New-NetworkAdapterObject $r $n } }
        }
        foreach ($a in $adapters) {
            [pscustomobject]@{
                PSTypeName    = 'Microsoft.HyperV.PowerShell.VMNetworkAdapterVlanSetting'
                OperationMode = $a.VlanSetting.OperationMode
                AccessVlanId  = [int]$a.VlanSetting.AccessVlanId
                NativeVlanId  = [int]0
                VMName        = $a.VMName
                ParentAdapter = $a
            }
        }
    }
}

function Get-VMFirmware {
    [CmdletBinding(DefaultParameterSetName = 'VMName')]
    param(
        [Parameter(ParameterSetName = 'VMName', Mandatory, Position = 0, ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()][string[]]$VMName,
        [Parameter(ParameterSetName = 'VMObject', Mandatory, Position = 0, ValueFromPipeline)]
        [PSTypeName('Microsoft.HyperV.PowerShell.VirtualMachine')][psobject[]]$VM,
        [string[]]$ComputerName
    )
    begin { Assert-LabFault $PSCmdlet }
    process {
        $notGen2 = [Collections.Generic.List[object]]::new()
        [GutsLab.Objects]::Firmware(@(Resolve-LabVMArgs $PSCmdlet $VMName $VM 'GetVMFirmware'), $notGen2)
        foreach ($r in $notGen2) {
            # generation 1 VMs have a BIOS, not firmware settings: an error, not an empty object
            $PSCmdlet.WriteError((New-HyperVError "The operation cannot be performed because the virtual machine `"$($r.Name)`" is not a generation 2 virtual machine." InvalidArgument $r.Name 'InvalidParameter' 'GetVMFirmware'))
        }
    }
}

function Get-VMSecurity {
    [CmdletBinding(DefaultParameterSetName = 'VMName')]
    param(
        [Parameter(ParameterSetName = 'VMName', Mandatory, Position = 0, ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()][string[]]$VMName,
        [Parameter(ParameterSetName = 'VMObject', Mandatory, Position = 0, ValueFromPipeline)]
        [PSTypeName('Microsoft.HyperV.PowerShell.VirtualMachine')][psobject[]]$VM,
        [string[]]$ComputerName
    )
    begin { Assert-LabFault $PSCmdlet }
    process {
        foreach ($r in (Resolve-LabVMArgs $PSCmdlet $VMName $VM 'GetVMSecurity')) {
            [pscustomobject]@{
                PSTypeName                        = 'Microsoft.HyperV.PowerShell.VMSecurity'
                TpmEnabled                        = [bool]$r.Security.TpmEnabled
                KsdEnabled                        = $false
                Shielded                          = $false
                EncryptStateAndVmMigrationTraffic = $false
                VirtualizationBasedSecurityOptOut = $false
                BindToHostTpm                     = $false
            }
        }
    }
}

function Get-VHD {
    [CmdletBinding(DefaultParameterSetName = 'Path')]
    param(
        [Parameter(ParameterSetName = 'Path', Mandatory, Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)]
        [Alias('FullName')][string[]]$Path,
        [string[]]$ComputerName
    )
    begin { Assert-LabFault $PSCmdlet }
    process {
        foreach ($p in $Path) {
            $fs = ConvertTo-LabFsPath $p
            if (-not [IO.File]::Exists($fs)) {
                $PSCmdlet.WriteError((New-HyperVError "Getting the mounted storage instance for the path '$p' failed.`nThe system cannot find the file specified." ObjectNotFound $p 'ObjectNotFound' 'GetVHD'))
                continue
            }
            try {
                $d = [GutsLab.VDisk]::Open($fs, $false)
                try {
                    $i = @{
                        VhdFormat = $d.Format; VhdType = $d.Type; Size = $d.Size; BlockSize = $d.BlockSize; FileSize = $d.FileLength
                        LogicalSectorSize = $d.LogicalSectorSize; PhysicalSectorSize = $d.PhysicalSectorSize
                        DiskIdentifier = $d.DiskId.ToString().ToUpperInvariant()
                        ParentPath = if ($d.IsDifferencing) { [GutsLab.Chain]::ParentWinPath($d) } else { $null }
                        # Resilient Change Tracking: the active leaf's most recent point, or the point a
                        # frozen file was sealed at; "" without tracking (VHD, configuration < 6.2)
                        RctId = if ($d.Format -eq 'VHDX') { [GutsLab.Rct]::FileRctId($fs) } else { '' }
                    }
                } finally { $d.Dispose() }
            }
            catch {
                # not a VHD/VHDX (or a damaged one): Windows' message, without the lab's internals
                Write-Verbose "guts lab: reading the headers of '$fs' failed: $($_.Exception.Message)"
                $PSCmdlet.WriteError((New-HyperVError "Getting the mounted storage instance for the path '$p' failed.`nThe file or directory is corrupted and unreadable." InvalidData $p 'InvalidParameter' 'GetVHD'))
                continue
            }
            $attached = @(foreach ($r in (Read-LabModel).VMs) { foreach ($d in $r.HardDrives) { if ($d.Path -eq $p -and $r.State -eq 'Running') { 1 } } }).Count -gt 0
            [pscustomobject]@{
                PSTypeName              = 'Microsoft.Vhd.PowerShell.VirtualHardDisk'
                ComputerName            = [string]$env:COMPUTERNAME
                Path                    = $p
                VhdFormat               = [Microsoft.Vhd.PowerShell.VhdFormat]$i.VhdFormat
                VhdType                 = [Microsoft.Vhd.PowerShell.VhdType]$i.VhdType
                FileSize                = [uint64]$i.FileSize
                Size                    = [uint64]$i.Size
                MinimumSize             = $null
                LogicalSectorSize       = [uint32]$i.LogicalSectorSize
                PhysicalSectorSize      = [uint32]$i.PhysicalSectorSize
                BlockSize               = [uint32]$i.BlockSize
                ParentPath              = $i.ParentPath
                DiskIdentifier          = $i.DiskIdentifier
                FragmentationPercentage = $null
                Alignment               = [uint32]1
                Attached                = $attached
                DiskNumber              = $null
                IsPMEMCompatible        = $false
                AddressAbstractionType  = 0
                Number                  = $null
                RctId                   = [string]$i.RctId
            }
        }
    }
}

# Stop-VM / Start-VM: state changes persisted in the model.  Graceful shutdown needs the guest's
# shutdown integration service (LabShutdownService: false in the model makes it fail like Hyper-V
# does); -TurnOff pulls the plug; -Force would skip the "users logged on" confirmation.
function Set-LabVMState($Cmdlet, $VMName, $VM, [string]$CmdletClass, [string]$Target, [switch]$Passthru, [scriptblock]$Check) {
    foreach ($r in (Resolve-LabVMArgs $Cmdlet $VMName $VM $CmdletClass)) {
        if ($r.State -eq $Target) {
            $Cmdlet.WriteWarning("The virtual machine '$($r.Name)' is already in the specified state.")
        } elseif ($Cmdlet.ShouldProcess($r.Name, $Cmdlet.MyInvocation.MyCommand.Name)) {
            # a failing check (e.g. ShouldContinue under -NonInteractive throws) must leave the VM alone
            try { $go = -not $Check -or (& $Check $r) } catch { $Cmdlet.WriteError($_); continue }
            if (-not $go) { continue }
            $id = $r.Id
            Update-LabModel {
                param($m)
                foreach ($v in $m.VMs) {
                    if ($v.Id -ne $id) { continue }
                    $v.State = $Target
                    $v.LabStartedAt = if ($Target -eq 'Running') { [datetime]::UtcNow.ToString('o') } else { $null }
                }
            }
        }
        if ($Passthru) { New-VMObject (Get-LabVMRecord $r.Id) }
    }
}

function Stop-VM {
    [CmdletBinding(DefaultParameterSetName = 'Name', SupportsShouldProcess, ConfirmImpact = 'Medium')]
    param(
        [Parameter(ParameterSetName = 'Name', Mandatory, Position = 0, ValueFromPipelineByPropertyName)]
        [Alias('VMName')][ValidateNotNullOrEmpty()][string[]]$Name,
        [Parameter(ParameterSetName = 'VMObject', Mandatory, Position = 0, ValueFromPipeline)]
        [PSTypeName('Microsoft.HyperV.PowerShell.VirtualMachine')][psobject[]]$VM,
        [switch]$Force, [switch]$TurnOff, [switch]$Save, [switch]$Passthru, [switch]$AsJob,
        [string[]]$ComputerName
    )
    begin { Assert-LabFault $PSCmdlet }
    process {
        $target = if ($Save) { 'Saved' } else { 'Off' }
        $turnOff = [bool]$TurnOff
        $check = {
            param($r)
            if ($turnOff -or $Save -or $r.State -ne 'Running') { return $true }
            # users logged on to the guest: Hyper-V asks first unless -Force; under -NonInteractive
            # (how drivers run) ShouldContinue fails, exactly as on a real host
            if ($r.LabUsersLoggedOn -and -not $Force -and -not $PSCmdlet.ShouldContinue("The virtual machine '$($r.Name)' has users logged on. Shut it down anyway?", 'Stop-VM')) { return $false }
            if ($r.LabShutdownService -eq $false) {
                $PSCmdlet.WriteError((New-HyperVError "The virtual machine '$($r.Name)' could not be shut down. The shutdown integration service is not available in the virtual machine." InvalidOperation $r.Name 'OperationFailed' 'StopVM'))
                return $false
            }
            $true
        }
        Set-LabVMState $PSCmdlet $Name $VM 'StopVM' $target -Passthru:$Passthru $check
    }
}

function Start-VM {
    [CmdletBinding(DefaultParameterSetName = 'Name', SupportsShouldProcess, ConfirmImpact = 'Medium')]
    param(
        [Parameter(ParameterSetName = 'Name', Mandatory, Position = 0, ValueFromPipelineByPropertyName)]
        [Alias('VMName')][ValidateNotNullOrEmpty()][string[]]$Name,
        [Parameter(ParameterSetName = 'VMObject', Mandatory, Position = 0, ValueFromPipeline)]
        [PSTypeName('Microsoft.HyperV.PowerShell.VirtualMachine')][psobject[]]$VM,
        [switch]$Passthru, [switch]$AsJob,
        [string[]]$ComputerName
    )
    begin { Assert-LabFault $PSCmdlet }
    process { Set-LabVMState $PSCmdlet $Name $VM 'StartVM' 'Running' -Passthru:$Passthru $null }
}

# Hyper-V's checkpoint-named aliases of the snapshot cmdlets
Set-Alias -Name Get-VMCheckpoint -Value Get-VMSnapshot
Set-Alias -Name Remove-VMCheckpoint -Value Remove-VMSnapshot
Set-Alias -Name Rename-VMCheckpoint -Value Rename-VMSnapshot
