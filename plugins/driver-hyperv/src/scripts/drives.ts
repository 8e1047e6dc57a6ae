/**
 * The drive projection every script shares: controller, path, pass-through (a physical disk has a
 * DiskNumber and no file), and with chains the virtual disk chain leaf first (Get-VHD, following
 * ParentPath; RctId is the file's Resilient Change Tracking id, empty before Windows Server 2016). A file that cannot be read is reported on its drive (ChainError), not thrown, so
 * one missing VHD does not hide the rest of the VM.
 */
export const DRIVES_FUNCTION = `
function Get-GutsChain($path) {
  $chain = @()
  $p = $path
  while ($p) {
    $v = Get-VHD -Path $p
    $chain += ,([ordered]@{ Path = [string]$v.Path; VhdFormat = [int]$v.VhdFormat; VhdType = [int]$v.VhdType; Size = [int64]$v.Size; FileSize = [int64]$v.FileSize;
      BlockSize = [int64]$v.BlockSize; LogicalSectorSize = [int]$v.LogicalSectorSize; ParentPath = [string]$v.ParentPath; RctId = [string]$v.RctId })
    $p = $v.ParentPath
    if ($chain.Count -gt 64) { throw "The differencing chain of $path is longer than 64 files." }
  }
  ,$chain
}
function Get-GutsDrives($drives, [bool]$withChains) {
  @(foreach ($d in @($drives)) {
    if ($null -eq $d) { continue }
    $pass = $null -ne $d.DiskNumber
    $chain = $null; $err = ''
    if ($withChains -and -not $pass -and $d.Path) { try { $chain = Get-GutsChain $d.Path } catch { $err = [string]$_.Exception.Message } }
    [ordered]@{ ControllerType = [int]$d.ControllerType; ControllerNumber = [int]$d.ControllerNumber; ControllerLocation = [int]$d.ControllerLocation
      Path = [string]$d.Path; PassThrough = $pass; DiskNumber = if ($pass) { [int64]$d.DiskNumber } else { $null }
      SupportPersistentReservations = [bool]$d.SupportPersistentReservations; Chain = $chain; ChainError = $err }
  })
}`
