# hyperv-lab.sh check, Resilient Change Tracking part 2 (web01), after a guest write into drive 0 and
# rct-reset of drive 1: a second recovery snapshot; QueryChangesVirtualDisk through P/Invoke (the
# driver's declarations: Add-Type, SafeFileHandle, OPEN_VIRTUAL_DISK_PARAMETERS version 3) on the frozen
# files: exactly the written blocks since the reference point's id, the RCT errors (a malformed id, an
# id older than the history kept, an id of before the reset), OpenVirtualDisk's checks, no descriptor
# left open; then the conversion, the destroy of the first reference point (its history goes), the
# second destroyed too.  $In (prepended by hyperv-lab.sh): { P1: [ids of reference point 1], RP1 }.
$ErrorActionPreference = 'Stop'
$ns = 'root\virtualization\v2'
$o = [ordered]@{}
Add-Type -TypeDefinition @'
using System;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
public static class GutsCheckVirtDisk {
  [StructLayout(LayoutKind.Sequential)]
  public struct VIRTUAL_STORAGE_TYPE { public uint DeviceId; public Guid VendorId; }
  [StructLayout(LayoutKind.Sequential)]
  public struct OPEN_VIRTUAL_DISK_PARAMETERS { public int Version; public int GetInfoOnly; public int ReadOnly; public Guid ResiliencyGuid; public Guid SnapshotId; }
  [StructLayout(LayoutKind.Sequential)]
  public struct QUERY_CHANGES_VIRTUAL_DISK_RANGE { public ulong ByteOffset; public ulong ByteLength; public ulong Reserved; }
  [DllImport("virtdisk.dll", CharSet = CharSet.Unicode)]
  public static extern uint OpenVirtualDisk(ref VIRTUAL_STORAGE_TYPE storageType, string path, uint accessMask, uint flags, ref OPEN_VIRTUAL_DISK_PARAMETERS parameters, out SafeFileHandle handle);
  [DllImport("virtdisk.dll", CharSet = CharSet.Unicode)]
  public static extern uint QueryChangesVirtualDisk(SafeFileHandle handle, string changeTrackingId, ulong byteOffset, ulong byteLength, uint flags, [In, Out] QUERY_CHANGES_VIRTUAL_DISK_RANGE[] ranges, ref uint rangeCount, out ulong processedLength);
}
'@
$type = New-Object GutsCheckVirtDisk+VIRTUAL_STORAGE_TYPE
$type.VendorId = [guid]'ec984aec-a0f9-47e9-901f-71415a66345b'
$open = New-Object GutsCheckVirtDisk+OPEN_VIRTUAL_DISK_PARAMETERS
$open.Version = 3; $open.ReadOnly = 1
function Hex($s) { '0x{0:X8}' -f $s }   # the status is a uint32: an [int] cast of 0xC03A0029 would throw
function Open-Check([string]$path, [uint32]$mask = 0) { $h = $null; $s = [GutsCheckVirtDisk]::OpenVirtualDisk([ref]$type, $path, $mask, 0, [ref]$open, [ref]$h); [pscustomobject]@{ Status = Hex $s; Handle = $h } }
function Get-Changes([string]$path, [string]$since) {
    $x = Open-Check $path
    if ($x.Status -ne '0x00000000') { return "open $($x.Status)" }
    try {
        $size = [uint64](Get-VHD -Path $path).Size; $buf = New-Object 'GutsCheckVirtDisk+QUERY_CHANGES_VIRTUAL_DISK_RANGE[]' 64
        $flat = @(); $off = [uint64]0
        while ($off -lt $size) {
            $n = [uint32]$buf.Length; $done = [uint64]0
            $s = [GutsCheckVirtDisk]::QueryChangesVirtualDisk($x.Handle, $since, $off, $size - $off, 0, $buf, [ref]$n, [ref]$done)
            if ($s -ne 0) { return Hex $s }
            for ($i = 0; $i -lt $n; $i++) { $flat += '{0}+{1}' -f $buf[$i].ByteOffset, $buf[$i].ByteLength }
            $off += $done
        }
        $flat -join ' '
    } finally { $x.Handle.Dispose() }
}
function Wait-CheckJob($r) { $j = $r.Job; do { $j = Get-CimInstance -InputObject $j; if ($j.JobState -eq 4) { Start-Sleep -Milliseconds 100 } } while ($j.JobState -eq 4); $j }

$vm = Get-VM -Name web01
$cs = Get-CimInstance -Namespace $ns -ClassName Msvm_ComputerSystem -Filter "Name='$($vm.Id)'"
$svc = Get-CimInstance -Namespace $ns -ClassName Msvm_VirtualSystemSnapshotService
$rps = Get-CimInstance -Namespace $ns -ClassName Msvm_VirtualSystemReferencePointService
$settings = '<INSTANCE CLASSNAME="Msvm_VirtualSystemSnapshotSettingData"><PROPERTY NAME="ConsistencyLevel" TYPE="uint8"><VALUE>2</VALUE></PROPERTY></INSTANCE>'
$j = Wait-CheckJob (Invoke-CimMethod -InputObject $svc -MethodName CreateSnapshot -Arguments @{ AffectedSystem = $cs; SnapshotSettings = $settings; SnapshotType = [uint16]32768 })
$snap = Get-CimAssociatedInstance -InputObject $j -ResultClassName Msvm_VirtualSystemSettingData
$cp = Get-VMSnapshot -VM $vm | Where-Object { 'Microsoft:' + $_.Id.ToString() -eq [string]$snap.InstanceID }
$f0 = $cp.HardDrives[0].Path; $f1 = $cp.HardDrives[1].Path
$p1 = [string]$In.P1[0]
$o.P2 = @($cp.HardDrives | ForEach-Object { (Get-VHD -Path $_.Path).RctId })
$o.Delta = Get-Changes $f0 $p1
$o.Malformed = Get-Changes $f0 'rctX:not-an-id'
$o.TooOld = Get-Changes $f0 ($p1 -replace '[0-9a-f]{8}$', ('{0:x8}' -f ([Convert]::ToInt64($p1.Substring(42), 16) - 1)))
$o.BeforeReset = Get-Changes $f1 ([string]$In.P1[1])
$o.OpenMask = (Open-Check $f0 0x80000).Status
$o.OpenMissing = (Open-Check 'C:\Hyper-V\Virtual Hard Disks\guts-check-nope.vhdx').Status
$o.OpenNotVhd = (Open-Check 'C:\lab\hello.ps1').Status
$fds = [IO.Directory]::GetFiles('/proc/self/fd').Count
for ($i = 0; $i -lt 20; $i++) { (Open-Check $f0).Handle.Dispose() }
$o.FdsLeft = [IO.Directory]::GetFiles('/proc/self/fd').Count - $fds

$j = Wait-CheckJob (Invoke-CimMethod -InputObject $svc -MethodName ConvertToReferencePoint -Arguments @{ AffectedSnapshot = $snap })
$rp2 = Get-CimAssociatedInstance -InputObject $j -ResultClassName Msvm_VirtualSystemReferencePoint
$rp1 = @(Get-CimAssociatedInstance -InputObject $cs -Association Msvm_ReferencePointOfVirtualSystem | Where-Object InstanceID -eq $In.RP1)[0]
$j = Wait-CheckJob (Invoke-CimMethod -InputObject $rps -MethodName DestroyReferencePoint -Arguments @{ AffectedReferencePoint = $rp1 })
$o.Destroy = [int]$j.JobState
$leaf = (Get-VMHardDiskDrive -VM $vm)[0].Path
$o.LeafSinceP1 = Get-Changes $leaf $p1
$o.LeafSinceP2 = Get-Changes $leaf $o.P2[0]
try { $null = Get-CimInstance -InputObject $rp1; $o.GoneRp = 'still there' } catch { $o.GoneRp = [string]$_.FullyQualifiedErrorId }
$null = Wait-CheckJob (Invoke-CimMethod -InputObject $rps -MethodName DestroyReferencePoint -Arguments @{ AffectedReferencePoint = $rp2 })
$o | ConvertTo-Json -Depth 4 -Compress
