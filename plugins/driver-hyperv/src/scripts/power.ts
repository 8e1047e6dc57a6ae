/**
 * Power scripts. The wait for a guest shutdown happens on the host (one PowerShell process, not a
 * poll from here that starts one per look): Stop-VM -Force -AsJob asks the guest through the
 * shutdown integration service, the script watches the state until the deadline, then turns the
 * VM off. A guest that cannot be asked (no integration service: Hyper-V's error) is turned off
 * at once: the plan asked for the VM to be off either way.
 */
export const POWER_OFF = `
$vm = Get-VM -Id $GutsArgs.id
$before = [int]$vm.State
$method = 'none'
$why = ''
function Get-State { [int](Get-VM -Id $GutsArgs.id).State }
if ($before -ne 3 -and $GutsArgs.method -eq 'shutdown') {
  if ($before -eq 6) { Start-VM -VM $vm; $method = 'resume' }
  elseif ($before -eq 9) { Resume-VM -VM $vm; $method = 'resume' }
  $deadline = [DateTime]::UtcNow.AddSeconds([double]$GutsArgs.timeoutSeconds)
  $job = $null
  try { $job = Stop-VM -VM (Get-VM -Id $GutsArgs.id) -Force -AsJob -Confirm:$false -WarningAction SilentlyContinue } catch { $why = $_.Exception.Message }
  if (-not $why) {
    $method = 'shutdown'
    while ((Get-State) -ne 3 -and [DateTime]::UtcNow -lt $deadline) {
      if ($job -and $job.State -eq 'Failed') { $why = [string]$job.ChildJobs[0].JobStateInfo.Reason.Message; break }
      Start-Sleep -Milliseconds 500
    }
    if ((Get-State) -ne 3 -and -not $why) { $why = 'the guest did not shut down within ' + $GutsArgs.timeoutSeconds + ' s' }
  }
}
if ((Get-State) -ne 3) {
  $now = Get-VM -Id $GutsArgs.id
  if ([int]$now.State -eq 6) { Remove-VMSavedState -VM $now } else { Stop-VM -VM $now -TurnOff -Force -Confirm:$false -WarningAction SilentlyContinue }
  $method = 'turnoff'
}
[ordered]@{ Before = $before; After = (Get-State); Method = $method; Why = $why }`

export const POWER_ON = `
$vm = Get-VM -Id $GutsArgs.id
$before = [int]$vm.State
if ($before -ne 2) { Start-VM -VM $vm -WarningAction SilentlyContinue }
[ordered]@{ Before = $before; After = [int](Get-VM -Id $GutsArgs.id).State }`
