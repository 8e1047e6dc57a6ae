# guts lab: Get-CimInstance, Invoke-CimMethod and Get-CimAssociatedInstance over the lab's host model
# (<state>/host/vms.json, the file the Hyper-V module uses).  Classes are providers in $script:Providers:
# namespace -> class -> @{ Super; Get = { param($model) rows (IDictionary) } }; the heavy ones are C#
# (GutsLab.Cim, GutsLab.CimV2, GutsLab.CimJobs).  Instances come out shaped like CimInstance output
# (PSTypeNames Microsoft.Management.Infrastructure.CimInstance#<namespace>/<class>, CimClass,
# CimInstanceProperties, CimSystemProperties, ToString "Class (Key = "v")"); unknown namespaces, classes,
# methods and instances fail like WMI does (CimException, the WMI HRESULT).  The Hyper-V methods' bodies
# are in the Hyper-V module (HyperV.Recovery.ps1): this module checks the call the way CIM does.
Add-Type -AssemblyName Microsoft.Management.Infrastructure   # the real CimException type
# the lab's JSON reader and CIM object builder (compiled with the Hyper-V module's types by up)
if (-not ('GutsLab.Cim' -as [type])) {
    . (Join-Path $PSScriptRoot '../Hyper-V/HyperV.Types.ps1')
}

# the host model, parsed once per process and shared with the Hyper-V module
function Read-CimLabModel { [GutsLab.Json]::ReadCached($env:GUTS_LAB_HYPERV_MODEL) }

$script:Providers = @{
    'root/virtualization/v2' = @{
        'Msvm_ComputerSystem'                     = @{ Super = 'CIM_ComputerSystem'; Get = { param($m) [GutsLab.Cim]::ComputerSystems(@($m.VMs)) } }
        'Msvm_KvpExchangeComponent'               = @{ Super = 'CIM_LogicalDevice'; Get = { param($m) [GutsLab.Cim]::KvpComponents(@($m.VMs)) } }
        'Msvm_VirtualSystemSnapshotService'       = @{ Super = 'CIM_VirtualSystemSnapshotService'; Get = { param($m) [GutsLab.CimV2]::SnapshotService() } }
        'Msvm_VirtualSystemReferencePointService' = @{ Super = 'CIM_Service'; Get = { param($m) [GutsLab.CimV2]::ReferencePointService() } }
        'Msvm_VirtualSystemSettingData'           = @{ Super = 'CIM_VirtualSystemSettingData'; Get = { param($m) [GutsLab.CimV2]::SettingDatas(@($m.VMs)) } }
        'Msvm_VirtualSystemReferencePoint'        = @{ Super = 'CIM_ManagedElement'; Get = { param($m) [GutsLab.CimV2]::ReferencePoints(@($m.VMs)) } }
        # every read of a job counts: it is how a job advances (HyperV.CimJobs.cs)
        'Msvm_ConcreteJob'                        = @{ Super = 'CIM_ConcreteJob'; Get = { param($m, $only) [GutsLab.CimJobs]::Read($env:GUTS_LAB_HYPERV_MODEL, $only) } }
    }
    'root/cimv2' = @{
        'Win32_OperatingSystem' = @{
            Super = 'CIM_OperatingSystem'
            Get   = { param($m) , [ordered]@{ Caption = 'Microsoft Windows Server 2022 Datacenter'; Version = '10.0.20348'; BuildNumber = '20348'; CSName = [string]$env:COMPUTERNAME; OSArchitecture = '64-bit'; ProductType = [uint32]3; Name = 'Microsoft Windows Server 2022 Datacenter|C:\Windows|\Device\Harddisk0\Partition2' } }
        }
    }
}
$script:Namespaces = @('root', 'root/cimv2', 'root/virtualization', 'root/virtualization/v2', 'root/standardcimv2', 'root/microsoft/windows/storage')

# Methods: class -> method -> in parameters (name -> CIM type; REF:<class> = a reference).  From the
# classes' MOF in Microsoft's reference.  Declared but not emulated: the call fails "Not supported".
$script:Methods = @{
    'Msvm_VirtualSystemSnapshotService'       = @{
        'CreateSnapshot'          = @{ AffectedSystem = 'REF:CIM_ComputerSystem'; SnapshotSettings = 'string'; SnapshotType = 'uint16'; ResultingSnapshot = 'REF:CIM_VirtualSystemSettingData' }
        'ConvertToReferencePoint' = @{ AffectedSnapshot = 'REF:CIM_VirtualSystemSettingData'; ReferencePointSettings = 'string'; ResultingReferencePoint = 'REF:Msvm_VirtualSystemReferencePoint' }
        'DestroySnapshot'         = @{ AffectedSnapshot = 'REF:CIM_VirtualSystemSettingData' }
        'ApplySnapshot'           = @{ Snapshot = 'REF:CIM_VirtualSystemSettingData' }
        'ClearSnapshotState'      = @{ AffectedSnapshot = 'REF:CIM_VirtualSystemSettingData' }
        'DestroySnapshotTree'     = @{ SnapshotSettingData = 'REF:CIM_VirtualSystemSettingData' }
    }
    'Msvm_VirtualSystemReferencePointService' = @{
        'DestroyReferencePoint'        = @{ AffectedReferencePoint = 'REF:Msvm_VirtualSystemReferencePoint' }
        'CreateReferencePoint'         = @{ AffectedSystem = 'REF:Msvm_ComputerSystem'; ReferencePointSettings = 'string'; ReferencePointType = 'uint16'; ResultingReferencePoint = 'REF:Msvm_VirtualSystemReferencePoint' }
        'ExportReferencePoint'         = @{ ReferencePoint = 'REF:Msvm_VirtualSystemReferencePoint'; ExportSettingData = 'string' }
        'RemoveAssociatedData'         = @{ ReferencePoint = 'REF:Msvm_VirtualSystemReferencePoint' }
        'ImportReferencePointMetadata' = @{ SystemDefinitionFile = 'string'; ReferencePointMetadataFile = 'string' }
    }
}
$script:Emulated = @('CreateSnapshot', 'ConvertToReferencePoint', 'DestroySnapshot', 'DestroyReferencePoint')

function New-CimError([string]$Message, [string]$HResult, [Management.Automation.ErrorCategory]$Category, $Target, [string]$Command = 'GetCimInstanceCommand') {
    $ex = [Microsoft.Management.Infrastructure.CimException]::new($Message)
    [Management.Automation.ErrorRecord]::new($ex, "HRESULT $HResult,Microsoft.Management.Infrastructure.CimCmdlets.$Command", $Category, $Target)
}

function Get-CimNs([string]$Namespace) { ($Namespace -replace '\\', '/').Trim('/').ToLowerInvariant() }
function Get-CimClassKey([string]$ns, [string]$ClassName) { if ($script:Providers[$ns]) { @($script:Providers[$ns].Keys | Where-Object { $_ -eq $ClassName }) | Select-Object -First 1 } }

# The rows of a class (jobs: $only = one InstanceID, read once more), and instances of rows.
function Get-CimRows([string]$ns, [string]$cls, $only) { @(& $script:Providers[$ns][$cls].Get (Read-CimLabModel) $only) }
function New-CimInstanceOf([string]$ns, [string]$cls, [Collections.IDictionary]$row) {
    $super = $script:Providers[$ns][$cls].Super
    [GutsLab.Cim]::Select($ns, $cls, $super, @(, $row), $null)
}

# The row an instance (from this module) names now, by its keys; $null when it no longer exists.
function Find-CimRow($InputObject) {
    $sys = $InputObject.CimSystemProperties
    $ns = Get-CimNs ([string]$sys.Namespace); $cls = Get-CimClassKey $ns ([string]$sys.ClassName)
    if (-not $cls) { return }
    $only = if ($cls -eq 'Msvm_ConcreteJob') { [string]$InputObject.InstanceID } else { $null }
    foreach ($r in @(Get-CimRows $ns $cls $only)) { if ([GutsLab.CimV2]::SameKeys($cls, $r, $InputObject)) { return [pscustomobject]@{ Ns = $ns; Class = $cls; Row = $r } } }
}

function Get-CimInstance {
    [CmdletBinding(DefaultParameterSetName = 'ClassNameComputerSet')]
    param(
        [Parameter(ParameterSetName = 'ClassNameComputerSet', Mandatory, Position = 0)][string]$ClassName,
        [Parameter(ParameterSetName = 'CimInstanceComputerSet', Mandatory, ValueFromPipeline)][Alias('CimInstance')]
        [PSTypeName('Microsoft.Management.Infrastructure.CimInstance')][psobject]$InputObject,
        [Parameter(ParameterSetName = 'QueryComputerSet', Mandatory)][string]$Query,
        [Parameter(ParameterSetName = 'QueryComputerSet')][string]$QueryDialect = 'WQL',
        [Parameter(ParameterSetName = 'ClassNameComputerSet')][string]$Filter,
        [Parameter(ParameterSetName = 'ClassNameComputerSet')][Parameter(ParameterSetName = 'QueryComputerSet')][string]$Namespace = 'root/cimv2',
        [Parameter(ParameterSetName = 'ClassNameComputerSet')][Alias('SelectProperties')][string[]]$Property,
        [Parameter(ParameterSetName = 'ClassNameComputerSet')][switch]$KeyOnly,
        [switch]$Shallow,
        [Alias('CN', 'ServerName')][string[]]$ComputerName,
        [Alias('OT')][uint32]$OperationTimeoutSec
    )
    process {
        if ($PSCmdlet.ParameterSetName -eq 'CimInstanceComputerSet') {
            # re-read by keys: a job advances; an instance that is gone is WMI's "Not found"
            $hit = Find-CimRow $InputObject
            if (-not $hit) { $PSCmdlet.WriteError((New-CimError 'Not found ' '0x80041002' ObjectNotFound $InputObject)); return }
            return New-CimInstanceOf ([string]$InputObject.CimSystemProperties.Namespace) $hit.Class $hit.Row
        }
        $ns = Get-CimNs $Namespace
        if ($PSCmdlet.ParameterSetName -eq 'QueryComputerSet') {
            $mm = [regex]::Match($Query, '^\s*SELECT\s+(?<sel>\*|[\w\s,]+?)\s+FROM\s+(?<c>\w+)\s*(?:WHERE\s+(?<w>.+?))?\s*$', 'IgnoreCase')
            if ($QueryDialect -ne 'WQL' -or -not $mm.Success) {
                $PSCmdlet.WriteError((New-CimError 'Invalid query ' '0x80041017' InvalidArgument $Query)); return
            }
            $ClassName = $mm.Groups['c'].Value
            if ($mm.Groups['w'].Success) { $Filter = $mm.Groups['w'].Value }
        }
        if ($ns -notin $script:Namespaces) {
            $PSCmdlet.WriteError((New-CimError 'Invalid namespace ' '0x8004100e' MetadataError ($Namespace))); return
        }
        $key = Get-CimClassKey $ns $ClassName
        if (-not $key) {
            $PSCmdlet.WriteError((New-CimError 'Invalid class ' '0x80041010' MetadataError "$($Namespace):$ClassName")); return
        }
        $where = $null
        if ($Filter) {
            $where = [GutsLab.Wql]::Parse($Filter)
            if ($null -eq $where) { $PSCmdlet.WriteError((New-CimError 'Invalid query ' '0x80041017' InvalidArgument $Filter)); return }
        }
        $nsOut = ($Namespace -replace '\\', '/').Trim('/')
        [GutsLab.Cim]::Select($nsOut, $key, $script:Providers[$ns][$key].Super, @(Get-CimRows $ns $key $null), $where)
    }
}
Set-Alias -Name gcim -Value Get-CimInstance

. $PSScriptRoot/CimCmdlets.Methods.ps1
