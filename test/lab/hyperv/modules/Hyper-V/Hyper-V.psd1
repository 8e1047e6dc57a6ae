# The Hyper-V module of the guts Hyper-V lab (found on the lab's PSModulePath and auto-loaded on
# first use of one of its commands, like Windows' Hyper-V module).  The cmdlets are advanced functions in
# Hyper-V.psm1 over the lab's host model; see test/lab/hyperv/LAB-NOTES.md.
@{
    RootModule        = 'Hyper-V.psm1'
    ModuleVersion     = '2.0.0.0'
    GUID              = 'af4bddd0-8583-4ff2-84b2-a33f5c8de8a7'
    Author            = 'guts lab'
    Description       = 'guts lab emulation of the Hyper-V module'
    PowerShellVersion = '5.1'
    FunctionsToExport = @('Get-VMHost', 'Get-VM', 'Get-VMHardDiskDrive', 'Get-VMNetworkAdapter', 'Get-VMNetworkAdapterVlan', 'Get-VMFirmware', 'Get-VMSecurity', 'Get-VHD', 'Stop-VM', 'Start-VM', 'Checkpoint-VM', 'Get-VMSnapshot', 'Remove-VMSnapshot', 'Rename-VMSnapshot')
    CmdletsToExport   = @()
    AliasesToExport   = @('Get-VMCheckpoint', 'Remove-VMCheckpoint', 'Rename-VMCheckpoint')
    VariablesToExport = @()
}
