# Runs at the start of every lab PowerShell session, before the client's -EncodedCommand / -File
# script (ScriptsToProcess of <state>/lab/lab.pssc, which shim.sh passes as -ConfigurationFile;
# it runs under -NoProfile too).  Keep it small: it must not leave variables, output or $Error
# entries a script on a real Windows host would not see.

# C: is the lab's C: tree (<state>/C), so 'C:\Hyper-V\x.vhdx' works in provider cmdlets
# (Get-Item, Test-Path, Get-ChildItem, Get-Content, ...). .NET APIs ([IO.File]::Exists('C:\...'))
# do not go through PowerShell drives: scripts must resolve paths with Convert-Path first.
# (The SessionState API, not New-PSDrive/Set-Location: the same provider calls, ~0.15 s less per
# session, the first cmdlet invocation's cost; no variables are left behind.)
$null = $ExecutionContext.SessionState.Drive.New([Management.Automation.PSDriveInfo]::new('C', $ExecutionContext.SessionState.Provider.GetOne('FileSystem'), $env:GUTS_LAB_HYPERV_CROOT, '', $null), 'Global')
try { $null = $ExecutionContext.SessionState.Path.SetLocation('C:\Users\' + $env:USERNAME) } catch { }

# Error records look like Windows PowerShell 5.1's (NormalView, no ANSI colours in CLIXML).
$global:ErrorView = 'NormalView'
$PSStyle.OutputRendering = 'PlainText'
