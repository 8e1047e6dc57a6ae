# guts lab CimCmdlets: Invoke-CimMethod and Get-CimAssociatedInstance (dot-sourced by CimCmdlets.psm1).
#
# Invoke-CimMethod checks a call the way CimCmdlets + WMI do before the provider sees it: the target
# instance must exist ("Not found", 0x80041002), the method must be one of its class ("Invalid method",
# 0x8004102e), every argument must be a parameter of the method (CimCmdlets' own ArgumentException
# "Can not find Parameter ..."), and convert to the parameter's CIM type ("Invalid method
# Parameter(s)", 0x8004102f); a reference must name an instance that exists ("Not found").  The result
# is what CimCmdlets writes: an object with the out parameters, ReturnValue (uint32) and PSComputerName;
# a REF out parameter (Job) is a key-only instance, the way WMI returns references.

function ConvertTo-CimArgument([string]$Type, $Value) {
    $v = if ($Value -is [psobject] -and $Value.PSTypeNames -notcontains 'Microsoft.Management.Infrastructure.CimInstance') { $Value.psobject.BaseObject } else { $Value }
    if ($null -eq $v) { return [pscustomobject]@{ Ok = $true; Value = $null } }
    $inv = [Globalization.CultureInfo]::InvariantCulture
    try {
        $out = switch -Regex ($Type) {
            '^REF:' {
                if ($v -isnot [psobject] -or $v.PSTypeNames -notcontains 'Microsoft.Management.Infrastructure.CimInstance') { throw 'not a CimInstance' }
                $v
            }
            '^uint8$' { [Convert]::ToByte($v, $inv) }
            '^uint16$' { [Convert]::ToUInt16($v, $inv) }
            '^uint32$' { [Convert]::ToUInt32($v, $inv) }
            '^boolean$' { if ($v -is [bool]) { $v } else { throw 'not a boolean' } }
            default { [string]$v }
        }
        [pscustomobject]@{ Ok = $true; Value = $out }
    } catch { [pscustomobject]@{ Ok = $false; Value = $null } }
}

function New-CimMethodResult([string]$Class, [string]$Method, [uint32]$ReturnValue, [hashtable]$Out) {
    $o = [pscustomobject]@{}
    $o.PSTypeNames.Insert(0, 'Microsoft.Management.Infrastructure.CimMethodResult')
    $o.PSTypeNames.Insert(0, "Microsoft.Management.Infrastructure.CimMethodResult#$Class#$Method")
    foreach ($k in @($Out.Keys | Sort-Object)) {
        $val = $Out[$k]
        if ($k -eq 'Job' -and $val) { $val = New-CimInstanceOf 'root/virtualization/v2' 'Msvm_ConcreteJob' ([GutsLab.CimJobs]::KeyOnly([string]$val)) }
        $o.psobject.Properties.Add([psnoteproperty]::new($k, $val))
    }
    $o.psobject.Properties.Add([psnoteproperty]::new('ReturnValue', $ReturnValue))
    $o.psobject.Properties.Add([psnoteproperty]::new('PSComputerName', $null))
    $o
}

function Invoke-CimMethod {
    [CmdletBinding(DefaultParameterSetName = 'ClassNameComputerSet', SupportsShouldProcess)]
    param(
        [Parameter(ParameterSetName = 'CimInstanceComputerSet', Mandatory, Position = 0, ValueFromPipeline)][Alias('CimInstance')]
        [PSTypeName('Microsoft.Management.Infrastructure.CimInstance')][psobject]$InputObject,
        [Parameter(ParameterSetName = 'ClassNameComputerSet', Mandatory, Position = 0)][string]$ClassName,
        [Parameter(ParameterSetName = 'QueryComputerSet', Mandatory)][string]$Query,
        [Parameter(ParameterSetName = 'QueryComputerSet')][string]$QueryDialect = 'WQL',
        [Parameter(Position = 1)][Collections.IDictionary]$Arguments,
        [Parameter(Mandatory, Position = 2)][Alias('Name')][string]$MethodName,
        [Parameter(ParameterSetName = 'ClassNameComputerSet')][Parameter(ParameterSetName = 'QueryComputerSet')][string]$Namespace = 'root/cimv2',
        [Alias('CN', 'ServerName')][string[]]$ComputerName,
        [Alias('OT')][uint32]$OperationTimeoutSec
    )
    process {
        $targets = switch ($PSCmdlet.ParameterSetName) {
            'CimInstanceComputerSet' { , $InputObject }
            'QueryComputerSet' { Get-CimInstance -Query $Query -QueryDialect $QueryDialect -Namespace $Namespace }
            default {
                # our classes' methods are instance methods: called on the class, WMI refuses
                $ns = Get-CimNs $Namespace
                $cls = Get-CimClassKey $ns $ClassName
                if (-not $cls) { $PSCmdlet.WriteError((New-CimError 'Invalid class ' '0x80041010' MetadataError "$($Namespace):$ClassName" 'InvokeCimMethodCommand')) }
                else { $PSCmdlet.WriteError((New-CimError 'Invalid method ' '0x8004102e' InvalidOperation "$($Namespace):$ClassName" 'InvokeCimMethodCommand')) }
                return
            }
        }
        foreach ($t in @($targets)) {
            $cls = [string]$t.CimSystemProperties.ClassName
            if (-not $PSCmdlet.ShouldProcess("$t", "Invoke-CimMethod: $MethodName")) { continue }
            $decl = if ($script:Methods[$cls]) { $script:Methods[$cls][$MethodName] }
            # CimCmdlets checks argument names against the class declaration before it calls
            if ($decl -and $Arguments) {
                foreach ($k in $Arguments.Keys) {
                    if (-not $decl.ContainsKey([string]$k)) {
                        $ex = [ArgumentException]::new("Can not find Parameter '$k' in method '$MethodName' of class '$cls'.")
                        $PSCmdlet.ThrowTerminatingError([Management.Automation.ErrorRecord]::new($ex, 'System.ArgumentException,Microsoft.Management.Infrastructure.CimCmdlets.InvokeCimMethodCommand', 'NotSpecified', $t))
                    }
                }
            }
            if (-not (Find-CimRow $t)) { $PSCmdlet.WriteError((New-CimError 'Not found ' '0x80041002' ObjectNotFound $t 'InvokeCimMethodCommand')); continue }
            if (-not $decl) { $PSCmdlet.WriteError((New-CimError 'Invalid method ' '0x8004102e' InvalidOperation $t 'InvokeCimMethodCommand')); continue }
            $in = @{}; $bad = $false
            foreach ($k in @($decl.Keys)) {
                $given = $null
                if ($Arguments) { foreach ($a in $Arguments.Keys) { if ([string]$a -eq $k) { $given = $Arguments[$a] } } }
                $c = ConvertTo-CimArgument $decl[$k] $given
                if (-not $c.Ok) { $bad = $true; break }
                if ($null -ne $c.Value -and $decl[$k] -like 'REF:*') {
                    # WMI passes a path; VMMS resolves it: an instance that does not exist is not found
                    $ref = Find-CimRow $c.Value
                    if (-not $ref) { $PSCmdlet.WriteError((New-CimError 'Not found ' '0x80041002' ObjectNotFound $t 'InvokeCimMethodCommand')); $bad = $null; break }
                    $in[$k] = $ref
                } else { $in[$k] = $c.Value }
            }
            if ($null -eq $bad) { continue }
            if ($bad) { $PSCmdlet.WriteError((New-CimError 'Invalid method Parameter(s) ' '0x8004102f' InvalidArgument $t 'InvokeCimMethodCommand')); continue }
            if ($MethodName -notin $script:Emulated) {
                $PSCmdlet.WriteError((New-CimError "Not supported (guts lab: $cls.$MethodName is not emulated) " '0x8004100c' NotImplemented $t 'InvokeCimMethodCommand')); continue
            }
            $hv = Get-Module Hyper-V
            if (-not $hv) { $hv = Import-Module Hyper-V -PassThru }
            $res = & $hv { param($c, $m, $i) Invoke-LabCimMethod $c $m $i } $cls $MethodName $in
            New-CimMethodResult $cls $MethodName $res.ReturnValue $res.Out
        }
    }
}

function Get-CimAssociatedInstance {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipeline)][Alias('CimInstance')]
        [PSTypeName('Microsoft.Management.Infrastructure.CimInstance')][psobject]$InputObject,
        [Parameter(Position = 1)][string]$Association,
        [string]$ResultClassName,
        [string]$Namespace,
        [switch]$KeyOnly,
        [Alias('CN', 'ServerName')][string[]]$ComputerName,
        [Alias('OT')][uint32]$OperationTimeoutSec
    )
    process {
        $hit = Find-CimRow $InputObject
        if (-not $hit) { $PSCmdlet.WriteError((New-CimError 'Not found ' '0x80041002' ObjectNotFound $InputObject 'GetCimAssociatedInstanceCommand')); return }
        $nsOut = [string]$InputObject.CimSystemProperties.Namespace
        foreach ($p in ([GutsLab.CimV2]::Associated(@((Read-CimLabModel).VMs), $env:GUTS_LAB_HYPERV_MODEL, $hit.Class, $hit.Row, $Association))) {
            $super = $script:Providers[$hit.Ns][$p.Key].Super
            # ResultClassName matches the class or the CIM superclass it derives from (WMI's ResultClass)
            if ($ResultClassName -and $p.Key -ne $ResultClassName -and $super -ne $ResultClassName) { continue }
            New-CimInstanceOf $nsOut $p.Key $p.Value
        }
    }
}
Set-Alias -Name icim -Value Invoke-CimMethod
