# The lab's own side door into the host (hyperv-lab.sh runs it with the lab's pwsh, as root, never
# through the sshd): what happens on the host without the driver.  Not visible to lab sessions.
#   write FSPATH OFFSET SRCFILE     the guest writes SRCFILE's bytes into the disk file at OFFSET
#                                   (the lab's VHDX/VHD writer: blocks, BAT, sector bitmaps)
#   raw FSPATH OUT                  the guest-visible content of the disk (its chain resolved) -> OUT
#   checkpoint VMNAME NAME          Checkpoint-VM through the Hyper-V module (up's seed uses it)
#   seed STEPS.json                 LabSeedSteps of host-seed.json, in order: {VM, Drive, Offset, Length,
#                                   Text} = a guest write into the drive's active disk; {VM, Checkpoint}
#                                   = Checkpoint-VM -SnapshotName (the same code a driver reaches)
#   info FSPATH                     format, type, size, block size, parent (one JSON line)
param([Parameter(Mandatory)][string]$Verb, [Parameter(ValueFromRemainingArguments)][string[]]$Rest)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot 'modules/Hyper-V/Hyper-V.psd1')
$croot = $env:GUTS_LAB_HYPERV_CROOT
switch ($Verb) {
    'write' {
        $data = [IO.File]::ReadAllBytes($Rest[2])
        $d = [GutsLab.VDisk]::Open($Rest[0], $true)
        try { $d.Write([long]$Rest[1], $data, 0, $data.Length); $d.Flush() } finally { $d.Dispose() }
    }
    'raw' {
        $c = [GutsLab.Chain]::new($Rest[0], $croot, $false)
        try { $c.ExportRaw($Rest[1]) } finally { $c.Dispose() }
    }
    'seed' {
        $toFs = { param($w) $croot.TrimEnd('/') + '/' + $w.Substring(3).Replace('\', '/') }
        foreach ($st in (Get-Content -Raw -LiteralPath $Rest[0] | ConvertFrom-Json).LabSeedSteps) {
            if ($st.Checkpoint) { Checkpoint-VM -Name $st.VM -SnapshotName $st.Checkpoint -ErrorAction Stop | Out-Null; continue }
            $path = @(Get-VMHardDiskDrive -VMName $st.VM -ErrorAction Stop)[[int]$st.Drive].Path
            $line = [Text.Encoding]::UTF8.GetBytes(('guts-lab seed {0} @{1} {2}' -f $st.VM, $st.Offset, $st.Text) + "`n")
            $data = [byte[]]::new([int]$st.Length)
            for ($i = 0; $i -lt $data.Length; $i += $line.Length) { [Array]::Copy($line, 0, $data, $i, [Math]::Min($line.Length, $data.Length - $i)) }
            $d = [GutsLab.VDisk]::Open((& $toFs $path), $true)
            try { $d.Write([long]$st.Offset, $data, 0, $data.Length); $d.Flush() } finally { $d.Dispose() }
        }
    }
    'checkpoint' { Checkpoint-VM -Name $Rest[0] -SnapshotName $Rest[1] -ErrorAction Stop | Out-Null }
    'info' {
        $d = [GutsLab.VDisk]::Open($Rest[0], $false)
        try {
            [ordered]@{ Format = $d.Format; Type = $d.Type; Size = $d.Size; BlockSize = $d.BlockSize
                Parent = if ($d.IsDifferencing) { [GutsLab.Chain]::ParentWinPath($d) } else { $null } } | ConvertTo-Json -Compress
        } finally { $d.Dispose() }
    }
    default { throw "labtool: unknown verb '$Verb'" }
}
