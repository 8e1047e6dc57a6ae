# The lab's CimCmdlets module: pwsh on Linux has none (Windows has the real one, over WMI).  A small
# CIM layer over the lab's host model: Get-CimInstance -Namespace -ClassName [-Filter] and -Query
# (WQL SELECT ... FROM ... [WHERE ...]), -InputObject; Invoke-CimMethod and Get-CimAssociatedInstance for the
# recovery snapshot and reference point classes; see LAB-NOTES.md.
@{
    RootModule        = 'CimCmdlets.psm1'
    ModuleVersion     = '7.0.0.0'
    GUID              = 'fb6cc51d-c096-4b38-b78d-0fed6277096a'
    Author            = 'guts lab'
    Description       = 'guts lab emulation of CimCmdlets (Get-CimInstance, Invoke-CimMethod, Get-CimAssociatedInstance over the lab host model)'
    PowerShellVersion = '5.1'
    FunctionsToExport = @('Get-CimInstance', 'Invoke-CimMethod', 'Get-CimAssociatedInstance')
    CmdletsToExport   = @()
    AliasesToExport   = @('gcim', 'icim')
    VariablesToExport = @()
}
