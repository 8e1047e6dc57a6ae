import { DRIVES_FUNCTION } from './drives.js'

/**
 * The inventory scripts. Host-side PowerShell that Windows PowerShell 5.1 and PowerShell 7 run the
 * same way: every value is cast (enums to [int], GUIDs and dates to strings) so that both give the
 * same JSON, and one script answers for every VM of the host — the per-VM cmdlets take the whole
 * `-VM` array once instead of one call per VM.
 */

/** Summaries of every VM (or of the VMs with `$GutsArgs.ids`): what `guts vm list` shows. */
export const LIST_VMS = `
$vms = @(Get-VM)
[ordered]@{
  Host = [string]$env:COMPUTERNAME
  VMs = @(foreach ($vm in $vms) {
    [ordered]@{ Id = $vm.Id.ToString(); Name = [string]$vm.Name; State = [int]$vm.State; Generation = [int]$vm.Generation; IsClustered = [bool]$vm.IsClustered }
  })
}`

/**
 * Everything the driver knows about VMs: GutsArgs.id for one VM (Hyper-V's ObjectNotFound when
 * there is none), or every VM. With GutsArgs.disks each drive's virtual disk chain is read too
 * (Get-VHD per file: costly on a big host, so only for describe).
 */
export const DESCRIBE_VMS = `${DRIVES_FUNCTION}
function Group-ByVM($items) {
  $h = @{}
  foreach ($i in $items) { if ($null -eq $i) { continue }; $k = $i.VMId.ToString(); if (-not $h.ContainsKey($k)) { $h[$k] = New-Object System.Collections.ArrayList }; [void]$h[$k].Add($i) }
  $h
}
if ($GutsArgs.id) { $vms = @(Get-VM -Id $GutsArgs.id) } else { $vms = @(Get-VM) }
$gen2 = @($vms | Where-Object { $_.Generation -eq 2 })
$drives = Group-ByVM @(if ($vms.Count) { Get-VMHardDiskDrive -VM $vms })
$nics = Group-ByVM @(if ($vms.Count) { Get-VMNetworkAdapter -VM $vms })
$snaps = Group-ByVM @(if ($vms.Count) { Get-VMSnapshot -VM $vms })
$fw = Group-ByVM @(if ($gen2.Count) { Get-VMFirmware -VM $gen2 })
# VMSecurity objects carry no VMId: one call per generation 2 VM (TPM exists only there)
$sec = @{}
foreach ($g in $gen2) { $sec[$g.Id.ToString()] = Get-VMSecurity -VM $g }
$vlans = @{}
foreach ($v in @(if ($vms.Count) { Get-VMNetworkAdapterVlan -VM $vms })) { if ($v -and $v.ParentAdapter) { $vlans[[string]$v.ParentAdapter.Id] = $v } }
$kvp = @{}
# describe of one VM asks WMI for that VM's exchange component only
$kvpFilter = @{}
if ($GutsArgs.id) { $kvpFilter.Filter = "SystemName='" + ([guid]$GutsArgs.id).ToString() + "'" }
if (@($vms | Where-Object { [int]$_.State -eq 2 }).Count) {
  try {
    foreach ($c in @(Get-CimInstance -Namespace root\\virtualization\\v2 -ClassName Msvm_KvpExchangeComponent @kvpFilter)) {
      $items = [ordered]@{}
      foreach ($x in @($c.GuestIntrinsicExchangeItems)) {
        if (-not $x) { continue }
        $doc = [xml]$x
        $n = [string](@($doc.INSTANCE.PROPERTY | Where-Object { $_.NAME -eq 'Name' })[0].VALUE)
        $d = [string](@($doc.INSTANCE.PROPERTY | Where-Object { $_.NAME -eq 'Data' })[0].VALUE)
        if ($n) { $items[$n] = $d }
      }
      $kvp[([string]$c.SystemName).ToLowerInvariant()] = $items
    }
  } catch { Write-Warning ('Guest information (KVP) is not readable: ' + $_.Exception.Message) }
}
$wantChains = [bool]$GutsArgs.disks
[ordered]@{
  Host = [string]$env:COMPUTERNAME
  PSVersion = $PSVersionTable.PSVersion.ToString()
  VMs = @(foreach ($vm in $vms) {
    $id = $vm.Id.ToString()
    $f = if ($fw.ContainsKey($id)) { $fw[$id][0] } else { $null }
    $s = $sec[$id]
    [ordered]@{
      Id = $id; Name = [string]$vm.Name; State = [int]$vm.State; Generation = [int]$vm.Generation; Version = [string]$vm.Version
      ProcessorCount = [int]$vm.ProcessorCount; MemoryStartup = [int64]$vm.MemoryStartup; DynamicMemoryEnabled = [bool]$vm.DynamicMemoryEnabled
      MemoryMinimum = [int64]$vm.MemoryMinimum; MemoryMaximum = [int64]$vm.MemoryMaximum; CheckpointType = [int]$vm.CheckpointType
      Notes = [string]$vm.Notes; Path = [string]$vm.Path; IsClustered = [bool]$vm.IsClustered
      CreationTime = $vm.CreationTime.ToUniversalTime().ToString('o')
      Firmware = if ($f) { [ordered]@{ SecureBoot = ([string]$f.SecureBoot -eq 'On'); SecureBootTemplate = [string]$f.SecureBootTemplate
        BootOrder = @(foreach ($b in @($f.BootOrder)) { if ($b.Device -and $null -ne $b.Device.ControllerNumber) { '{0}:{1}:{2}:{3}' -f [string]$b.BootType, [int]$b.Device.ControllerType, [int]$b.Device.ControllerNumber, [int]$b.Device.ControllerLocation } else { [string]$b.BootType } }) } } else { $null }
      TpmEnabled = if ($s) { [bool]$s.TpmEnabled } else { $false }
      Disks = @(Get-GutsDrives $drives[$id] $wantChains)
      Nics = @(foreach ($n in @($nics[$id])) {
        if ($null -eq $n) { continue }
        $vl = $vlans[[string]$n.Id]
        [ordered]@{ Id = [string]$n.Id; Name = [string]$n.Name; MacAddress = [string]$n.MacAddress; SwitchName = [string]$n.SwitchName; IsLegacy = [bool]$n.IsLegacy
          IPAddresses = @(foreach ($a in @($n.IPAddresses)) { if ($a) { [string]$a } })
          VlanMode = if ($vl) { [string]$vl.OperationMode } else { '' }; VlanId = if ($vl) { [int]$vl.AccessVlanId } else { 0 } }
      })
      Snapshots = @(foreach ($c in @($snaps[$id])) {
        if ($null -eq $c) { continue }
        [ordered]@{ Id = $c.Id.ToString(); Name = [string]$c.Name; ParentSnapshotId = [string]$c.ParentSnapshotId; SnapshotType = [int]$c.SnapshotType
          CreationTime = $c.CreationTime.ToUniversalTime().ToString('o'); Notes = [string]$c.Notes }
      })
      Guest = $kvp[$id.ToLowerInvariant()]
    }
  })
}`
