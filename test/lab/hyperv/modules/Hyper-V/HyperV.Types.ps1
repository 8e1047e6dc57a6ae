# Real .NET enum types with Hyper-V's names and numeric values, so that objects behave like the
# real module's: `ConvertTo-Json` writes them as NUMBERS ("State": 2), `-eq 'Running'` works,
# `[int]$vm.State` works, `"$($vm.State)"` gives the name.  Values from Microsoft's Hyper-V
# PowerShell reference and real 5.1 output (../shared/docs/reference/hyperv-disks.md, section A3).
# Loaded once per process (Add-Type cannot redefine a type).
#
# With them, in the same assembly: the lab's disk code (HyperV.Disk.cs) and the model/object code
# (HyperV.Objects.cs).  Compiling C# costs ~2 s per session (Roslyn), more than pwsh's own start:
# `hyperv-lab.sh up` compiles it once (this script run with -BuildDir, from the repo's copy, before
# the module files are replaced) into <state>/lab/types/HyperV.Types.dll and sessions load that.
# Without the DLL it compiles in memory: slower, same types.
param([string]$BuildDir)

# A session: load <types>/HyperV.Types.dll (compiled by up from this source) and nothing else; the
# first call of each .NET API from script costs tens of ms, so nothing is read or hashed here.
if (-not $BuildDir) {
    if ('Microsoft.HyperV.PowerShell.VMState' -as [type]) { return }
    if ($env:GUTS_LAB_HYPERV_TYPES -and [IO.File]::Exists("$env:GUTS_LAB_HYPERV_TYPES/HyperV.Types.dll")) {
        $null = [Reflection.Assembly]::LoadFrom("$env:GUTS_LAB_HYPERV_TYPES/HyperV.Types.dll")   # not Add-Type -Path: ~0.1 s more
        return
    }
}

$source = @'
namespace Microsoft.HyperV.PowerShell {
    public enum VMState {
        Other = 1, Running = 2, Off = 3, Stopping = 4, Saved = 6, Paused = 9, Starting = 10, Reset = 11,
        Saving = 32773, Pausing = 32776, Resuming = 32777, FastSaved = 32779, FastSaving = 32780,
        ForceShutdown = 32781, ForceReboot = 32782, RunningCritical = 32783, OffCritical = 32784,
        StoppingCritical = 32785, SavedCritical = 32786, PausedCritical = 32787, StartingCritical = 32788,
        ResetCritical = 32789, SavingCritical = 32790, PausingCritical = 32791, ResumingCritical = 32792,
        FastSavedCritical = 32793, FastSavingCritical = 32794
    }
    public enum ControllerType { IDE = 0, SCSI = 1, PMEM = 2 }
    public enum SnapshotType { Standard = 0, Recovery = 1, Planned = 2, Missing = 5, Replica = 6, AppConsistentReplica = 7, SyncedReplica = 8 }
    public enum OnOffState { On = 0, Off = 1 }
    public enum CheckpointType { Disabled = 2, Production = 3, ProductionOnly = 4, Standard = 5 }
    public enum VMNetworkAdapterVlanMode { Untagged = 0, Access = 1, Trunk = 2, Private = 3 }
    // The exception type Hyper-V's cmdlets put in their error records.
    public class VirtualizationException : System.Exception {
        public VirtualizationException(string message) : base(message) {}
    }
}
namespace Microsoft.Vhd.PowerShell {
    public enum VhdFormat { Unknown = 0, VHD = 2, VHDX = 3, VHDSet = 4 }
    public enum VhdType { Unknown = 0, Fixed = 2, Dynamic = 3, Differencing = 4 }
}
'@
# the lab's C#, same assembly: HyperV.Disk.cs (differencing VHDX/VHD, chains, writes, merges),
# HyperV.Objects.cs (the model's JSON, the cmdlets' output objects, CIM rows), HyperV.Rct.cs (change
# tracking), HyperV.CimV2.cs + HyperV.CimJobs.cs (recovery snapshots, reference points, jobs).  Every
# HyperV.*.cs, by name (hyperv-lab.sh hashes the same files to know when to compile again).
foreach ($cs in (Get-ChildItem -LiteralPath $PSScriptRoot -Filter 'HyperV.*.cs' | Sort-Object Name)) {
    $source += [IO.File]::ReadAllText($cs.FullName)
}

if ($BuildDir) {
    # up: compile into <BuildDir>/HyperV.Types.dll, replaced by rename (running sessions keep theirs)
    New-Item -ItemType Directory -Force -Path $BuildDir | Out-Null
    $dll = Join-Path $BuildDir 'HyperV.Types.dll'
    Add-Type -TypeDefinition $source -OutputAssembly "$dll.tmp.$PID" -OutputType Library -IgnoreWarnings
    Move-Item -Force -LiteralPath "$dll.tmp.$PID" -Destination $dll
    $dll
} else {
    Add-Type -TypeDefinition $source -IgnoreWarnings   # no DLL: the same types compiled in memory (~2 s)
}
Remove-Variable source, dll, cs -ErrorAction Ignore
