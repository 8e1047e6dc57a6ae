# The host model: <state>/host/vms.json ($env:GUTS_LAB_HYPERV_MODEL, set by shim.sh), read once per
# session (re-read when the file changed: `hyperv-lab.sh vm-state` edits it from outside) and
# written back atomically (temp file + rename) under a lock file, because several SSH channels may
# run Stop-VM/Start-VM at the same time.

$script:ModelCache = $null
$script:ModelById = $null     # Id (lower-case string) -> VM record: -VM $vms lookups stay O(1) on a 1,000-VM host

function Get-LabModelPath {
    if (-not $env:GUTS_LAB_HYPERV_MODEL) { throw 'guts lab: GUTS_LAB_HYPERV_MODEL is not set (not a lab session?)' }
    $env:GUTS_LAB_HYPERV_MODEL
}

function Read-LabModel {
    $m = [GutsLab.Json]::ReadCached((Get-LabModelPath))
    if (-not [object]::ReferenceEquals($m, $script:ModelCache)) {
        $ix = [Collections.Generic.Dictionary[string, object]]::new([StringComparer]::OrdinalIgnoreCase)
        foreach ($v in $m.VMs) { $ix[[string]$v.Id] = $v }
        $script:ModelById = $ix
        $script:ModelCache = $m
    }
    $m
}

# Update-LabModel { param($model) ... }: runs the block on a fresh copy under the lock, then saves.
function Update-LabModel([scriptblock]$Change) {
    $p = Get-LabModelPath
    $lock = $null
    for ($i = 0; $i -lt 200 -and $null -eq $lock; $i++) {
        try { $lock = [IO.File]::Open("$p.lock", 'OpenOrCreate', 'ReadWrite', 'None') }
        catch [IO.IOException] { Start-Sleep -Milliseconds 50 }
    }
    if ($null -eq $lock) { throw "guts lab: the host model is locked ($p.lock)" }
    try {
        # a fresh copy (the cached one stays untouched if the change fails half-way)
        $m = [GutsLab.Json]::Parse([IO.File]::ReadAllText($p, [Text.Encoding]::UTF8))
        $ix = [Collections.Generic.Dictionary[string, object]]::new([StringComparer]::OrdinalIgnoreCase)
        foreach ($v in $m.VMs) { $ix[[string]$v.Id] = $v }
        $script:ModelById = $ix; $script:ModelCache = $m
        & $Change $m
        $tmp = "$p.tmp.$PID"
        [IO.File]::WriteAllText($tmp, [GutsLab.Json]::Write($m), [Text.UTF8Encoding]::new($false))
        [IO.File]::Move($tmp, $p, $true)
    } finally { $lock.Dispose() }
}

# C:\Hyper-V\x.vhdx -> the file in the lab's C: tree (.NET does not know PowerShell drives)
function ConvertTo-LabFsPath([string]$WinPath) {
    if ($WinPath -notmatch '^[A-Za-z]:[\\/]') { return $WinPath }
    Join-Path $env:GUTS_LAB_HYPERV_CROOT ($WinPath.Substring(3) -replace '\\', '/')
}

# A non-terminating error record shaped like Hyper-V's: VirtualizationException, the category,
# the target, and Hyper-V's FullyQualifiedErrorId prefix.
function New-HyperVError([string]$Message, [Management.Automation.ErrorCategory]$Category, $Target, [string]$Id, [string]$CmdletClass) {
    $ex = [Microsoft.HyperV.PowerShell.VirtualizationException]::new($Message)
    [Management.Automation.ErrorRecord]::new($ex, "$Id,Microsoft.HyperV.PowerShell.Commands.$CmdletClass", $Category, $Target)
}

function Test-Wildcard([string]$s) { [Management.Automation.WildcardPattern]::ContainsWildcardCharacters($s) }

# Find-LabVM: the model records matching names (wildcards, case-insensitive like Hyper-V).  A name
# without wildcards that matches nothing is Hyper-V's ObjectNotFound error; a wildcard matching
# nothing is silent.
function Find-LabVM($Cmdlet, [string[]]$Name, [string]$CmdletClass, [string]$IdPrefix = 'InvalidParameter') {
    $all = @((Read-LabModel).VMs)
    if (-not $Name) { return $all }
    foreach ($n in $Name) {
        $pat = [Management.Automation.WildcardPattern]::new($n, 'IgnoreCase')
        $hits = [Collections.Generic.List[object]]::new()
        foreach ($v in $all) { if ($pat.IsMatch($v.Name)) { $hits.Add($v) } }
        if ($hits.Count -eq 0 -and -not (Test-Wildcard $n)) {
            $Cmdlet.WriteError((New-HyperVError "Hyper-V was unable to find a virtual machine with name `"$n`"." ObjectNotFound $n $IdPrefix $CmdletClass))
        }
        $hits
    }
}

function Get-LabVMRecord([guid]$Id) {
    $null = Read-LabModel
    $r = $null
    if ($script:ModelById.TryGetValue($Id.ToString(), [ref]$r)) { $r }
}

# The records behind -VMName or -VM (objects from Get-VM: matched by Id, fresh from the model).
function Resolve-LabVMArgs($Cmdlet, $VMName, $VM, [string]$CmdletClass, [string]$IdPrefix = 'InvalidParameter') {
    if ($Cmdlet.ParameterSetName -eq 'VMObject') {
        $null = Read-LabModel
        $ix = $script:ModelById
        foreach ($v in $VM) { $x = $null; if ($ix.TryGetValue([string]$v.Id, [ref]$x)) { $x } }
    }
    else { Find-LabVM $Cmdlet $VMName $CmdletClass $IdPrefix }
}

# Faults for tests (hyperv-lab.sh fault CMDLET [COUNT] [MESSAGE] [MATCH]): <host dir>/faults.json holds
# { "Checkpoint-VM": { "Count": 1, "Message": "...", "Match": "db01" } }.  An armed cmdlet fails once per
# call (COUNT times in all) with a terminating error record like a VMMS failure on a real host; with
# Match only calls whose bound arguments (a path, a VM's name) contain it, so that tests running at the
# same time against other VMs are not hit.
function Test-LabFaultMatch($Cmdlet, [string]$Match) {
    foreach ($v in $Cmdlet.MyInvocation.BoundParameters.Values) {
        foreach ($item in @($v)) {
            $text = if ($item -is [string]) { $item } else { '{0} {1}' -f $item.Name, $item.Path }
            if ($text.IndexOf($Match, [StringComparison]::OrdinalIgnoreCase) -ge 0) { return $true }
        }
    }
    $false
}

# Use-LabFault NAME TEXTS: consumes one armed fault of NAME (a cmdlet, or a WMI method such as
# CreateSnapshot) when its Match is empty or found in one of TEXTS; returns the fault's message, or
# nothing when none is armed for this call.
function Use-LabFault([string]$Name, [scriptblock]$IsMatch) {
    $f = Join-Path ([IO.Path]::GetDirectoryName((Get-LabModelPath))) 'faults.json'
    if (-not [IO.File]::Exists($f)) { return }
    $hit = $null
    $lock = $null
    for ($i = 0; $i -lt 200 -and $null -eq $lock; $i++) {
        try { $lock = [IO.File]::Open("$f.lock", 'OpenOrCreate', 'ReadWrite', 'None') }
        catch [IO.IOException] { Start-Sleep -Milliseconds 20 }
    }
    try {
        if (-not [IO.File]::Exists($f)) { return }
        $all = [IO.File]::ReadAllText($f) | ConvertFrom-Json -AsHashtable
        if (-not $all -or -not $all.ContainsKey($Name)) { return }
        $hit = $all[$Name]
        if ($hit.Match -and -not (& $IsMatch ([string]$hit.Match))) { $hit = $null; return }
        $left = [int]$hit.Count - 1
        if ($left -le 0) { $all.Remove($Name) } else { $hit.Count = $left }
        $tmp = "$f.tmp.$PID"
        [IO.File]::WriteAllText($tmp, ($all | ConvertTo-Json -Depth 5), [Text.UTF8Encoding]::new($false))
        [IO.File]::Move($tmp, $f, $true)
    } finally { if ($lock) { $lock.Dispose() } }
    if ($hit) { if ($hit.Message) { [string]$hit.Message } else { 'The operation failed.' } }
}

function Assert-LabFault($Cmdlet) {
    $name = $Cmdlet.MyInvocation.MyCommand.Name
    $msg = Use-LabFault $name { param($m) Test-LabFaultMatch $Cmdlet $m }
    if ($msg) {
        $class = $name -replace '-', ''
        $Cmdlet.ThrowTerminatingError((New-HyperVError $msg InvalidOperation $null 'OperationFailed' $class))
    }
}
