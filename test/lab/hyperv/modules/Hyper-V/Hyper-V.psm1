# guts lab: Hyper-V module (placeholder).  Property names are those of
# Microsoft.HyperV.PowerShell.VMHost; values come from the lab machine and the lab's C: tree.

function Get-VMHost {
    [CmdletBinding()]
    param([string[]]$ComputerName = @($env:COMPUTERNAME))
    foreach ($cn in $ComputerName) {
        $mem = [uint64]0
        foreach ($l in [IO.File]::ReadAllLines('/proc/meminfo')) {
            if ($l -match '^MemTotal:\s+(\d+) kB') { $mem = [uint64]$Matches[1] * 1024 }
        }
        [pscustomobject]@{
            PSTypeName            = 'Microsoft.HyperV.PowerShell.VMHost'
            ComputerName          = [string]$env:COMPUTERNAME
            Name                  = [string]$env:COMPUTERNAME
            LogicalProcessorCount = [int][Environment]::ProcessorCount
            MemoryCapacity        = $mem
            VirtualHardDiskPath   = 'C:\Hyper-V\Virtual Hard Disks'
            VirtualMachinePath    = 'C:\Hyper-V'
        }
    }
}
