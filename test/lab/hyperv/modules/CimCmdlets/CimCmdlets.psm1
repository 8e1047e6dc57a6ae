# guts lab: Get-CimInstance over the lab's host model (<state>/host/vms.json, the file the Hyper-V
# module uses).  Classes are providers in $script:Providers: namespace -> class -> scriptblock that
# returns ordered property tables; new classes (Resilient Change Tracking, Msvm_VirtualSystem-
# SettingData, ...) are added the same way.  Instances come out shaped like CimInstance output
# (PSTypeNames Microsoft.Management.Infrastructure.CimInstance#<namespace>/<class>, CimClass,
# CimInstanceProperties, CimSystemProperties); unknown namespaces and classes fail like WMI does.
Add-Type -AssemblyName Microsoft.Management.Infrastructure   # the real CimException type

$script:Model = $null; $script:ModelStamp = $null
function Read-CimLabModel {
    $p = $env:GUTS_LAB_HYPERV_MODEL
    $stamp = [IO.File]::GetLastWriteTimeUtc($p).Ticks
    if ($null -eq $script:Model -or $stamp -ne $script:ModelStamp) {
        $script:Model = [IO.File]::ReadAllText($p, [Text.Encoding]::UTF8) | ConvertFrom-Json
        $script:ModelStamp = $stamp
    }
    $script:Model
}

function ConvertTo-CimUtc($v) {
    if ($v -is [datetime]) { return $v.ToUniversalTime() }
    [datetime]::Parse([string]$v, [Globalization.CultureInfo]::InvariantCulture, [Globalization.DateTimeStyles]::RoundtripKind).ToUniversalTime()
}

# Msvm_ComputerSystem.EnabledState for a VMState name
$script:EnabledState = @{ Running = 2; Off = 3; Stopping = 4; Saved = 6; Paused = 9; Starting = 10; Reset = 11; Saving = 32773; Pausing = 32776; Resuming = 32777; FastSaved = 32779; FastSaving = 32780 }

# One Msvm_KvpExchangeDataItem as the embedded-instance XML (CIM-XML) WMI puts in GuestIntrinsicExchangeItems
function ConvertTo-KvpItemXml([string]$Name, [string]$Data) {
    $e = [Security.SecurityElement]
    '<INSTANCE CLASSNAME="Msvm_KvpExchangeDataItem"><PROPERTY NAME="Caption" PROPAGATED="true" TYPE="string"></PROPERTY>' +
    '<PROPERTY NAME="Data" TYPE="string"><VALUE>' + $e::Escape($Data) + '</VALUE></PROPERTY>' +
    '<PROPERTY NAME="Description" PROPAGATED="true" TYPE="string"></PROPERTY><PROPERTY NAME="ElementName" PROPAGATED="true" TYPE="string"></PROPERTY>' +
    '<PROPERTY NAME="Name" TYPE="string"><VALUE>' + $e::Escape($Name) + '</VALUE></PROPERTY>' +
    '<PROPERTY NAME="Source" TYPE="uint16"><VALUE>2</VALUE></PROPERTY></INSTANCE>'
}

$script:Providers = @{
    'root/virtualization/v2' = @{
        'Msvm_ComputerSystem' = @{
            Super = 'CIM_ComputerSystem'
            Get   = {
                param($m)
                [ordered]@{ Caption = 'Hosting Computer System'; Description = 'Microsoft Hosting Computer System'; ElementName = [string]$env:COMPUTERNAME
                    Name = [string]$env:COMPUTERNAME; CreationClassName = 'Msvm_ComputerSystem'; EnabledState = [uint16]2; HealthState = [uint16]5; OnTimeInMilliseconds = $null; ProcessID = $null; InstallDate = $null }
                foreach ($v in $m.VMs) {
                    $running = $v.State -eq 'Running'
                    [ordered]@{
                        Caption = 'Virtual Machine'; Description = 'Microsoft Virtual Machine'; ElementName = [string]$v.Name
                        Name = ([string]$v.Id).ToUpperInvariant(); CreationClassName = 'Msvm_ComputerSystem'
                        EnabledState = [uint16]$(if ($script:EnabledState.ContainsKey([string]$v.State)) { $script:EnabledState[[string]$v.State] } else { 1 })
                        HealthState = [uint16]5
                        OnTimeInMilliseconds = [uint64]$(if ($running -and $v.LabStartedAt) { ([datetime]::UtcNow - (ConvertTo-CimUtc $v.LabStartedAt)).TotalMilliseconds } else { 0 })
                        ProcessID = if ($running) { [uint32](4000 + ([Math]::Abs(([string]$v.Id).GetHashCode()) % 4000)) } else { $null }
                        InstallDate = (ConvertTo-CimUtc $v.CreationTime).ToLocalTime()
                    }
                }
            }
        }
        # The KVP exchange device exists while the VM runs; GuestIntrinsicExchangeItems holds what the
        # guest's KVP service (Windows integration services, Linux hv_kvp_daemon) reports - nothing
        # when the guest runs none (no LabKvp in the model).
        'Msvm_KvpExchangeComponent' = @{
            Super = 'CIM_LogicalDevice'
            Get   = {
                param($m)
                foreach ($v in $m.VMs) {
                    if ($v.State -ne 'Running') { continue }
                    $items = @()
                    if ($v.LabKvp) {
                        $items = @(foreach ($p in $v.LabKvp.PSObject.Properties) { ConvertTo-KvpItemXml $p.Name ([string]$p.Value) })
                        $ips = @(foreach ($n in $v.NetworkAdapters) { $n.LabGuestIPAddresses })
                        $v4 = @($ips | Where-Object { $_ -notmatch ':' }); $v6 = @($ips | Where-Object { $_ -match ':' })
                        $items += ConvertTo-KvpItemXml 'NetworkAddressIPv4' ($v4 -join ';')
                        $items += ConvertTo-KvpItemXml 'NetworkAddressIPv6' ($v6 -join ';')
                    }
                    $id = ([string]$v.Id).ToUpperInvariant()
                    [ordered]@{
                        Caption = 'Key-Value Pair Exchange'; Description = 'Microsoft Key-Value Pair Exchange'; ElementName = 'Key-Value Pair Exchange'
                        Name = '{0}\{1}' -f $id, '2A34B1C2-FD73-4043-8A5B-DD2159BC743F'
                        CreationClassName = 'Msvm_KvpExchangeComponent'; DeviceID = 'Microsoft:{0}\{1}' -f $id, '2A34B1C2-FD73-4043-8A5B-DD2159BC743F'
                        EnabledState = [uint16]2; HealthState = [uint16]5; OperationalStatus = [uint16[]]@(2); StatusDescriptions = [string[]]@('OK')
                        SystemCreationClassName = 'Msvm_ComputerSystem'; SystemName = $id
                        GuestExchangeItems = [string[]]@(); GuestIntrinsicExchangeItems = [string[]]$items
                    }
                }
            }
        }
    }
    'root/cimv2' = @{
        'Win32_OperatingSystem' = @{
            Super = 'CIM_OperatingSystem'
            Get   = { param($m) [ordered]@{ Caption = 'Microsoft Windows Server 2022 Datacenter'; Version = '10.0.20348'; BuildNumber = '20348'; CSName = [string]$env:COMPUTERNAME; OSArchitecture = '64-bit'; ProductType = [uint32]3 } }
        }
    }
}
$script:Namespaces = @('root', 'root/cimv2', 'root/virtualization', 'root/virtualization/v2', 'root/standardcimv2', 'root/microsoft/windows/storage')

function New-CimError([string]$Message, [string]$HResult, [Management.Automation.ErrorCategory]$Category, $Target) {
    $ex = [Microsoft.Management.Infrastructure.CimException]::new($Message)
    [Management.Automation.ErrorRecord]::new($ex, "HRESULT $HResult,Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand", $Category, $Target)
}

# WQL conditions: a op b [AND|OR c op d ...], op = <> != <= >= < > = LIKE; strings in '' or "".
function ConvertFrom-WqlWhere([string]$Where) {
    $conds = [Collections.Generic.List[object]]::new()
    $rx = [regex]'^\s*(?<p>\w+)\s*(?<op><>|!=|<=|>=|=|<|>|\bLIKE\b)\s*(?:''(?<s>(?:[^'']|'''')*)''|"(?<d>[^"]*)"|(?<n>[-\w.]+))\s*(?<j>\bAND\b|\bOR\b)?'
    $rest = $Where
    while ($rest -and $rest.Trim()) {
        $mm = $rx.Match($rest)
        if (-not $mm.Success) { return $null }
        $val = if ($mm.Groups['s'].Success) { $mm.Groups['s'].Value -replace "''", "'" } elseif ($mm.Groups['d'].Success) { $mm.Groups['d'].Value } else { $mm.Groups['n'].Value }
        $conds.Add([pscustomobject]@{ P = $mm.Groups['p'].Value; Op = $mm.Groups['op'].Value.ToUpperInvariant(); V = $val; Join = $mm.Groups['j'].Value.ToUpperInvariant() })
        $rest = $rest.Substring($mm.Length)
        if (-not $mm.Groups['j'].Success -and $rest.Trim()) { return $null }
    }
    , $conds
}

function Test-WqlMatch($props, $conds) {
    $result = $null; $join = ''
    foreach ($c in $conds) {
        $v = $props[$c.P]
        $a = [string]$v
        $ok = switch ($c.Op) {
            '=' { [string]::Equals($a, $c.V, 'OrdinalIgnoreCase') }
            { $_ -in '<>', '!=' } { -not [string]::Equals($a, $c.V, 'OrdinalIgnoreCase') }
            'LIKE' { $a -like ($c.V -replace '%', '*' -replace '_', '?') }
            default { $x = 0.0; $y = 0.0; if ([double]::TryParse($a, [ref]$x) -and [double]::TryParse($c.V, [ref]$y)) { switch ($c.Op) { '<' { $x -lt $y } '>' { $x -gt $y } '<=' { $x -le $y } '>=' { $x -ge $y } } } else { $false } }
        }
        $result = if ($null -eq $result) { $ok } elseif ($join -eq 'OR') { $result -or $ok } else { $result -and $ok }
        $join = $c.Join
    }
    [bool]$result
}

function New-CimLabInstance([string]$Namespace, [string]$Class, [string]$Super, $props) {
    $o = [pscustomobject]$props
    $tn = $o.PSObject.TypeNames
    $tn.Clear()
    foreach ($t in "Microsoft.Management.Infrastructure.CimInstance#$Namespace/$Class", "Microsoft.Management.Infrastructure.CimInstance#$Class", "Microsoft.Management.Infrastructure.CimInstance#$Super", 'Microsoft.Management.Infrastructure.CimInstance', 'System.Object') { $tn.Add($t) }
    $sys = [pscustomobject]@{ Namespace = $Namespace; ServerName = [string]$env:COMPUTERNAME; ClassName = $Class; Path = $null }
    $cls = [pscustomobject]@{ CimClassName = $Class; CimSuperClassName = $Super; CimSuperClass = $null; CimClassProperties = @($props.Keys); CimSystemProperties = $sys }
    $cls | Add-Member -Force ScriptMethod ToString { '{0}:{1}' -f $this.CimSystemProperties.Namespace, $this.CimClassName }
    $o | Add-Member -Force NoteProperty CimClass $cls
    $o | Add-Member -Force NoteProperty CimInstanceProperties @(foreach ($k in $props.Keys) { [pscustomobject]@{ Name = $k; Value = $props[$k]; CimType = $null; Flags = 'Property, ReadOnly, NotModified'; IsValueModified = $false } })
    $o | Add-Member -Force NoteProperty CimSystemProperties $sys
    $o
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
    $conds = $null
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
    if ($Filter) {
        $conds = ConvertFrom-WqlWhere $Filter
        if ($null -eq $conds) { $PSCmdlet.WriteError((New-CimError 'Invalid query ' '0x80041017' InvalidArgument $Filter)); return }
    }
    $prov = $classes[$key]
    $nsOut = ($Namespace -replace '\\', '/').Trim('/')
    foreach ($props in (& $prov.Get (Read-CimLabModel))) {
        if ($conds -and -not (Test-WqlMatch $props $conds)) { continue }
        New-CimLabInstance $nsOut $key $prov.Super $props
    }
}
Set-Alias -Name gcim -Value Get-CimInstance
