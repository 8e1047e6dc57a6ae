# C:\lab\hello.ps1 in the Hyper-V lab: run by `hyperv-lab.sh check` with -File.
param([string]$Who = 'lab')
"hello from C:\lab\hello.ps1, $Who"
"PSVersion=$($PSVersionTable.PSVersion)"
"VMHost=$((Get-VMHost).ComputerName)"
exit 7
