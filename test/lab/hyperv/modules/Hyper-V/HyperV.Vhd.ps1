# Reads a virtual disk's own headers, the way Get-VHD reports them: VHDX (MS-VHDX: file type
# identifier "vhdxfile", region table at 192 KiB, metadata table) and VHD (the 512-byte footer at
# the end of the file, big-endian; dynamic/differencing disks also have a dynamic header).

function Read-Bytes([IO.Stream]$s, [long]$offset, [int]$count) {
    $b = [byte[]]::new($count)
    [void]$s.Seek($offset, 'Begin')
    $n = 0
    while ($n -lt $count) { $r = $s.Read($b, $n, $count - $n); if ($r -le 0) { break }; $n += $r }
    if ($n -lt $count) { throw 'short read' }
    , $b
}
function BE32([byte[]]$b, [int]$o) { [uint32](([uint32]$b[$o] -shl 24) -bor ([uint32]$b[$o + 1] -shl 16) -bor ([uint32]$b[$o + 2] -shl 8) -bor $b[$o + 3]) }
function BE64([byte[]]$b, [int]$o) { ([uint64](BE32 $b $o) -shl 32) -bor (BE32 $b ($o + 4)) }

function Read-VhdxInfo([IO.Stream]$s) {
    $regionGuid = [guid]'8B7CA206-4790-4B9A-B8FE-575F050F886E'   # metadata region
    $rt = Read-Bytes $s 0x30000 0x10000
    if ([Text.Encoding]::ASCII.GetString($rt, 0, 4) -ne 'regi') { throw 'bad VHDX region table' }
    $metaOff = $null
    for ($i = 0; $i -lt [BitConverter]::ToUInt32($rt, 8); $i++) {
        $e = 16 + 32 * $i
        if ([guid]::new([byte[]]$rt[$e..($e + 15)]) -eq $regionGuid) { $metaOff = [BitConverter]::ToInt64($rt, $e + 16) }
    }
    if ($null -eq $metaOff) { throw 'VHDX without a metadata region' }
    $mt = Read-Bytes $s $metaOff 0x10000
    if ([Text.Encoding]::ASCII.GetString($mt, 0, 8) -ne 'metadata') { throw 'bad VHDX metadata table' }
    $items = @{}
    for ($i = 0; $i -lt [BitConverter]::ToUInt16($mt, 10); $i++) {
        $e = 32 + 32 * $i
        $items[[guid]::new([byte[]]$mt[$e..($e + 15)])] = [BitConverter]::ToUInt32($mt, $e + 16)
    }
    $item = { param($g, $n) Read-Bytes $s ($metaOff + $items[[guid]$g]) $n }
    $fp = & $item 'CAA16737-FA36-4D43-B3B6-33F0AA44E76B' 8    # file parameters: block size, flags
    $flags = [BitConverter]::ToUInt32($fp, 4)
    [ordered]@{
        VhdFormat          = [Microsoft.Vhd.PowerShell.VhdFormat]::VHDX
        VhdType            = if ($flags -band 2) { 'Differencing' } elseif ($flags -band 1) { 'Fixed' } else { 'Dynamic' }
        Size               = [BitConverter]::ToUInt64((& $item '2FA54224-CD1B-4876-B211-5DBED83BF4B8' 8), 0)
        BlockSize          = [BitConverter]::ToUInt32($fp, 0)
        LogicalSectorSize  = [BitConverter]::ToUInt32((& $item '8141BF1D-A96F-4709-BA47-F233A8FAAB5F' 4), 0)
        PhysicalSectorSize = [BitConverter]::ToUInt32((& $item 'CDA348C7-445D-4471-9CC9-E9885251C556' 4), 0)
        DiskIdentifier     = ([guid]::new([byte[]](& $item 'BECA12AB-B2E6-4523-93EF-C309E000C746' 16))).ToString().ToUpperInvariant()
        # the parent locator of differencing VHDX is not read yet (the lab makes no AVHDX yet)
        ParentPath         = $null
    }
}

function Read-VhdInfo([IO.Stream]$s) {
    $f = Read-Bytes $s ($s.Length - 512) 512
    if ([Text.Encoding]::ASCII.GetString($f, 0, 8) -ne 'conectix') { throw 'no VHD footer' }
    $type = BE32 $f 0x3C
    $block = 0
    if ($type -ne 2) {
        $dh = Read-Bytes $s ([long](BE64 $f 0x10)) 1024
        $block = BE32 $dh 0x20
    }
    # the UUID is stored as a plain byte string; Windows prints it as a GUID of those bytes
    $uuid = [guid]::new([byte[]]$f[0x44..0x53])
    [ordered]@{
        VhdFormat          = [Microsoft.Vhd.PowerShell.VhdFormat]::VHD
        VhdType            = switch ($type) { 2 { 'Fixed' } 3 { 'Dynamic' } 4 { 'Differencing' } default { 'Unknown' } }
        Size               = BE64 $f 0x30
        BlockSize          = [uint32]$block
        LogicalSectorSize  = [uint32]512
        PhysicalSectorSize = [uint32]512
        DiskIdentifier     = $uuid.ToString().ToUpperInvariant()
        ParentPath         = $null
    }
}

function Read-VirtualDiskInfo([string]$fsPath) {
    $s = [IO.File]::Open($fsPath, 'Open', 'Read', 'ReadWrite')
    try {
        $sig = [Text.Encoding]::ASCII.GetString((Read-Bytes $s 0 8))
        $i = if ($sig -eq 'vhdxfile') { Read-VhdxInfo $s } else { Read-VhdInfo $s }
        $i.FileSize = [uint64]$s.Length
        $i
    } finally { $s.Dispose() }
}
