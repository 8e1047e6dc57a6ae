# The lab's own side door into the host (hyperv-lab.sh runs it with the lab's pwsh, as root, never
# through the sshd): what happens on the host without the driver.  Not visible to lab sessions.
#   write FSPATH OFFSET SRCFILE     the lab's VHDX/VHD writer puts SRCFILE's bytes into the disk file at
#                                   OFFSET (blocks, BAT, sector bitmaps); no change tracking
#   guest-write VM IDX OFFSET SRCFILE   the running guest writes (any offset and length: whole sectors are
#                                   read, changed and written) into drive IDX's ACTIVE disk (resolved
#                                   under the model's lock, so a checkpoint cannot freeze it meanwhile):
#                                   the lab's writer for an .avhdx/.avhd leaf, qemu-io for a plain
#                                   VHDX/VHD; RCT marks the blocks changed.  Prints the Windows path.
#   raw FSPATH OUT                  the guest-visible content of the disk (its chain resolved) -> OUT
#   checkpoint VMNAME NAME          Checkpoint-VM through the Hyper-V module (up's seed uses it)
#   seed STEPS.json                 starts change tracking on every VHDX drive of VMs of configuration
#                                   6.2+, then LabSeedSteps of host-seed.json, in order: {VM, Drive, Offset,
#                                   Length, Text} = a guest write; {VM, Checkpoint} = Checkpoint-VM
#   rct-reset VM IDX                the host lost drive IDX's change tracking: a new GUID, no history
#   info FSPATH                     format, type, size, block size, parent (one JSON line)
param([Parameter(Mandatory)][string]$Verb, [Parameter(ValueFromRemainingArguments)][string[]]$Rest)
$ErrorActionPreference = 'Stop'
$hv = Import-Module (Join-Path $PSScriptRoot 'modules/Hyper-V/Hyper-V.psd1') -PassThru
$croot = $env:GUTS_LAB_HYPERV_CROOT

# The guest's write, inside the model's lock (runs in the Hyper-V module's scope: Update-LabModel).
$guestWrite = {
    param([string]$VMName, [int]$Index, [long]$Offset, [byte[]]$Data)
    $win = $null
    Update-LabModel {
        param($m)
        $v = @($m.VMs | Where-Object { $_.Name -eq $VMName })[0]
        if (-not $v) { throw "no VM named '$VMName'" }
        $d = @($v.HardDrives)[$Index]
        if (-not $d) { throw "$VMName has no drive $Index" }
        $script:win = [string]$d.Path
        $fs = ConvertTo-LabFsPath $script:win
        # the guest's block layer writes whole 512-byte sectors: a write of a few bytes is a
        # read-modify-write of the sectors around them (what the disk and RCT see)
        $a0 = [long][Math]::Floor($Offset / 512) * 512; $a1 = [long][Math]::Ceiling(($Offset + $Data.Length) / 512) * 512
        if ($a0 -ne $Offset -or $a1 -ne $Offset + $Data.Length) {
            $buf = [byte[]]::new($a1 - $a0)
            $c = [GutsLab.Chain]::new($fs, $env:GUTS_LAB_HYPERV_CROOT, $false)
            try { $c.Read($a0, $buf, 0, $buf.Length) } finally { $c.Dispose() }
            [Array]::Copy($Data, 0, $buf, $Offset - $a0, $Data.Length)
            $Offset = $a0; $Data = $buf
        }
        $disk = [GutsLab.VDisk]::Open($fs, $true)
        try {
            if ($disk.IsDifferencing) { $disk.Write($Offset, $Data, 0, $Data.Length); $disk.Flush(); $fmt = $null }
            else { $fmt = if ($disk.Format -eq 'VHDX') { 'vhdx' } else { 'vpc' } }
        } finally { $disk.Dispose() }
        if ($fmt) {
            # a plain VHDX/VHD: qemu's own writer (an independent check of the lab's reader)
            $src = [IO.Path]::GetTempFileName()
            try {
                [IO.File]::WriteAllBytes($src, $Data)
                & qemu-io -f $fmt -c "write -q -s $src $Offset $($Data.Length)" $fs
                if ($LASTEXITCODE -ne 0) { throw "qemu-io write into $fs failed" }
            } finally { Remove-Item -LiteralPath $src -Force -ErrorAction Ignore }
        }
        [GutsLab.Rct]::MarkWrite($v, $Index, $Offset, $Data.Length, $env:GUTS_LAB_HYPERV_CROOT)
        [GutsLab.Rct]::WriteSidecars($v, $env:GUTS_LAB_HYPERV_CROOT)
    }
    $script:win
}

switch ($Verb) {
    'write' {
        $data = [IO.File]::ReadAllBytes($Rest[2])
        $d = [GutsLab.VDisk]::Open($Rest[0], $true)
        try { $d.Write([long]$Rest[1], $data, 0, $data.Length); $d.Flush() } finally { $d.Dispose() }
    }
    'guest-write' { & $hv $guestWrite $Rest[0] ([int]$Rest[1]) ([long]$Rest[2]) ([IO.File]::ReadAllBytes($Rest[3])) }
    'guest-writes' {
        # several writes in one session (one pwsh start): [[offset, length], ...] of a recognisable line
        foreach ($w in @(Get-Content -Raw -LiteralPath $Rest[2] | ConvertFrom-Json)) {
            $line = [Text.Encoding]::UTF8.GetBytes(('guts-lab guest-write {0} @{1}' -f $Rest[0], $w[0]) + "`n")
            $data = [byte[]]::new([int]$w[1])
            for ($i = 0; $i -lt $data.Length; $i += $line.Length) { [Array]::Copy($line, 0, $data, $i, [Math]::Min($line.Length, $data.Length - $i)) }
            $null = & $hv $guestWrite $Rest[0] ([int]$Rest[1]) ([long]$w[0]) $data
        }
    }
    'raw' {
        $c = [GutsLab.Chain]::new($Rest[0], $croot, $false)
        try { $c.ExportRaw($Rest[1]) } finally { $c.Dispose() }
    }
    'seed' {
        & $hv { Update-LabModel { param($m) foreach ($v in $m.VMs) { [GutsLab.Rct]::EnsureAll($v, $env:GUTS_LAB_HYPERV_CROOT) } } }
        foreach ($st in (Get-Content -Raw -LiteralPath $Rest[0] | ConvertFrom-Json).LabSeedSteps) {
            if ($st.Checkpoint) { Checkpoint-VM -Name $st.VM -SnapshotName $st.Checkpoint -ErrorAction Stop | Out-Null; continue }
            $line = [Text.Encoding]::UTF8.GetBytes(('guts-lab seed {0} @{1} {2}' -f $st.VM, $st.Offset, $st.Text) + "`n")
            $data = [byte[]]::new([int]$st.Length)
            for ($i = 0; $i -lt $data.Length; $i += $line.Length) { [Array]::Copy($line, 0, $data, $i, [Math]::Min($line.Length, $data.Length - $i)) }
            $null = & $hv $guestWrite $st.VM ([int]$st.Drive) ([long]$st.Offset) $data
        }
        & $hv { Update-LabModel { param($m) foreach ($v in $m.VMs) { [GutsLab.Rct]::Retain($v); [GutsLab.Rct]::WriteSidecars($v, $env:GUTS_LAB_HYPERV_CROOT) } } }
    }
    'checkpoint' { Checkpoint-VM -Name $Rest[0] -SnapshotName $Rest[1] -ErrorAction Stop | Out-Null }
    'rct-reset' {
        & $hv {
            param([string]$VMName, [int]$Index)
            Update-LabModel {
                param($m)
                $v = @($m.VMs | Where-Object { $_.Name -eq $VMName })[0]
                if (-not $v) { throw "no VM named '$VMName'" }
                $script:id = [GutsLab.Rct]::Reset($v, $Index, $env:GUTS_LAB_HYPERV_CROOT)
                [GutsLab.Rct]::Retain($v)
                [GutsLab.Rct]::WriteSidecars($v, $env:GUTS_LAB_HYPERV_CROOT)
            }
            $script:id
        } $Rest[0] ([int]$Rest[1])
    }
    'info' {
        $d = [GutsLab.VDisk]::Open($Rest[0], $false)
        try {
            [ordered]@{ Format = $d.Format; Type = $d.Type; Size = $d.Size; BlockSize = $d.BlockSize
                Parent = if ($d.IsDifferencing) { [GutsLab.Chain]::ParentWinPath($d) } else { $null } } | ConvertTo-Json -Compress
        } finally { $d.Dispose() }
    }
    default { throw "labtool: unknown verb '$Verb'" }
}
