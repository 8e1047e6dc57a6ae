# guts lab: Get-CimInstance over the lab's host model (<state>/host/vms.json, the file the Hyper-V
# module uses).  Classes are providers in $script:Providers: namespace -> class -> scriptblock that
# returns ordered property tables; new classes (Resilient Change Tracking, Msvm_VirtualSystem-
# SettingData, ...) are added the same way.  Instances come out shaped like CimInstance output
# (PSTypeNames Microsoft.Management.Infrastructure.CimInstance#<namespace>/<class>, CimClass,
# CimInstanceProperties, CimSystemProperties); unknown namespaces and classes fail like WMI does.
Add-Type -AssemblyName Microsoft.Management.Infrastructure   # the real CimException type
# the lab's JSON reader and CIM object builder (compiled with the Hyper-V module's types by up)
if (-not ('GutsLab.Cim' -as [type])) {
    . (Join-Path $PSScriptRoot '../Hyper-V/HyperV.Types.ps1')
}

# the host model, parsed once per process and shared with the Hyper-V module
function Read-CimLabModel { [GutsLab.Json]::ReadCached($env:GUTS_LAB_HYPERV_MODEL) }

# Providers: namespace -> class -> @{ Super = superclass; Get = { param($model) rows (IDictionary) } }.
# The heavy ones are C# (GutsLab.Cim): a 1,000-VM host answers in milliseconds.
$script:Providers = @{
    'root/virtualization/v2' = @{
        'Msvm_ComputerSystem'       = @{ Super = 'CIM_ComputerSystem'; Get = { param($m) [GutsLab.Cim]::ComputerSystems(@($m.VMs)) } }
        'Msvm_KvpExchangeComponent' = @{ Super = 'CIM_LogicalDevice'; Get = { param($m) [GutsLab.Cim]::KvpComponents(@($m.VMs)) } }
    }
    'root/cimv2' = @{
        'Win32_OperatingSystem' = @{
            Super = 'CIM_OperatingSystem'
            Get   = { param($m) , [ordered]@{ Caption = 'Microsoft Windows Server 2022 Datacenter'; Version = '10.0.20348'; BuildNumber = '20348'; CSName = [string]$env:COMPUTERNAME; OSArchitecture = '64-bit'; ProductType = [uint32]3 } }
        }
    }
}
$script:Namespaces = @('root', 'root/cimv2', 'root/virtualization', 'root/virtualization/v2', 'root/standardcimv2', 'root/microsoft/windows/storage')

function New-CimError([string]$Message, [string]$HResult, [Management.Automation.ErrorCategory]$Category, $Target) {
    $ex = [Microsoft.Management.Infrastructure.CimException]::new($Message)
    [Management.Automation.ErrorRecord]::new($ex, "HRESULT $HResult,Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand", $Category, $Target)
}

function Get-CimInstance {
    [CmdletBinding(DefaultParameterSetName = 'ClassNameComputerSet')]
    param(
        [Parameter(ParameterSetName = 'ClassNameComputerSet', Mandatory, Position = 0)][string]$ClassName,
        [Parameter(ParameterSetName = 'QueryComputerSet', Mandatory)][string]$Query,
        [Parameter(ParameterSetName = 'QueryComputerSet')][string]$QueryDialect = 'WQL',
        [Parameter(ParameterSetName = 'ClassNameComputerSet')][string]$Filter,
        [string]$Namespace = 'root/cimv2',
        [Parameter(ParameterSetName = 'ClassNameComputerSet')][Alias('SelectProperties')][string[]]$Property,
        [Parameter(ParameterSetName = 'ClassNameComputerSet')][switch]$KeyOnly,
        [switch]$Shallow,
        [Alias('CN', 'ServerName')][string[]]$ComputerName,
        [Alias('OT')][uint32]$OperationTimeoutSec
    )
    $ns = ($Namespace -replace '\\', '/').Trim('/').ToLowerInvariant()
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
    $classes = $script:Providers[$ns]
    $key = if ($classes) { @($classes.Keys | Where-Object { $_ -eq $ClassName }) | Select-Object -First 1 }
    if (-not $key) {
        $PSCmdlet.WriteError((New-CimError 'Invalid class ' '0x80041010' MetadataError "$($Namespace):$ClassName")); return
    }
    $where = $null
    if ($Filter) {
        $where = [GutsLab.Wql]::Parse($Filter)
        if ($null -eq $where) { $PSCmdlet.WriteError((New-CimError 'Invalid query ' '0x80041017' InvalidArgument $Filter)); return }
    }
    $prov = $classes[$key]
    $nsOut = ($Namespace -replace '\\', '/').Trim('/')
    [GutsLab.Cim]::Select($nsOut, $key, $prov.Super, @(& $prov.Get (Read-CimLabModel)), $where)
}
Set-Alias -Name gcim -Value Get-CimInstance
