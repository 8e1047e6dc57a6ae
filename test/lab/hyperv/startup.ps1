# Runs at the start of every lab PowerShell session, before the client's -EncodedCommand / -File
# script (ScriptsToProcess of <state>/lab/lab.pssc, which shim.sh passes as -ConfigurationFile;
# it runs under -NoProfile too).  Keep it small: it must not leave variables, output or $Error
# entries a script on a real Windows host would not see.

# C: is the lab's C: tree (<state>/C), so 'C:\Hyper-V\x.vhdx' works in provider cmdlets
# (Get-Item, Test-Path, Get-ChildItem, Get-Content, ...). .NET APIs ([IO.File]::Exists('C:\...'))
# do not go through PowerShell drives: scripts must resolve paths with Convert-Path first.
New-PSDrive -Name C -PSProvider FileSystem -Root $env:GUTS_LAB_HYPERV_CROOT -Scope Global | Out-Null
Set-Location -LiteralPath ('C:\Users\' + $env:USERNAME) -ErrorAction SilentlyContinue

# Error records look like Windows PowerShell 5.1's (NormalView, no ANSI colours in CLIXML).
$global:ErrorView = 'NormalView'
$PSStyle.OutputRendering = 'PlainText'
