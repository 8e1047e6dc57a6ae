import { closeSync, copyFileSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { beforeAll, describe, expect, it } from 'vitest'
import { crc32c } from '../src/vhd/crc32c.js'
import { openDisk, rawStream, type VirtualDisk } from '../src/vhd/index.js'
import { sealCrc32c } from './helpers/vhd-diff-writer.js'
import { countingFile } from './helpers/vhd-local-file.js'
import { diskFixture } from './helpers/vhd-fixture.js'
import { compareStreamWithRaw, dataRanges, sha256File, virtualSizeOf } from './helpers/vhd-qemu.js'

const KiB = 1024
const MiB = 1024 * KiB
const GiB = 1024 * MiB

const fixture = diskFixture('C:\\Hyper-V\\Virtual Hard Disks')
const local = fixture.local
const qemuDisk = (name: string, size: number, options: Record<string, string>, writes: [number, number, number][]) =>
  fixture.qemuDisk('vhdx', name, size, options, writes)

/** The stream equals qemu-img's raw (sha256 too, for small disks). */
async function expectStreamMatches(disk: VirtualDisk, raw: string, withHash = true): Promise<void> {
  const result = await compareStreamWithRaw(rawStream(disk), raw, withHash)
  expect(result.bytes).toBe(disk.virtualSize)
  if (withHash) expect(result.sha256).toBe(sha256File(raw))
}

/**
 * Every range where qemu's raw has data is inside an extent (qemu-img convert always writes the
 * first 4 KiB, so a range of zeros may be left out); the extents are exactly the blocks written to.
 */
function expectExtents(disk: VirtualDisk, raw: string, writes: [number, number, number][]): void {
  const extents = disk.allocatedExtents()
  const fd = openSync(raw, 'r')
  try {
    for (const r of dataRanges('raw', raw)) {
      if (extents.some((e) => e.offset <= r.offset && r.offset + r.length <= e.offset + e.length)) continue
      const bytes = Buffer.alloc(r.length)
      readSync(fd, bytes, 0, r.length, r.offset)
      expect(
        bytes.every((b) => b === 0),
        `data at ${r.offset} outside the extents`,
      ).toBe(true)
    }
  } finally {
    closeSync(fd)
  }
  const blocks = new Set<number>()
  for (const [, off, len] of writes) for (let b = Math.floor(off / disk.blockSize); b * disk.blockSize < off + len; b++) blocks.add(b)
  const expected = [...blocks]
    .sort((a, b) => a - b)
    .map((b) => [b * disk.blockSize, Math.min(disk.blockSize, disk.virtualSize - b * disk.blockSize)])
  const merged: number[][] = []
  for (const [o, l] of expected) {
    const last = merged[merged.length - 1]
    if (last && last[0]! + last[1]! === o) last[1]! += l!
    else merged.push([o!, l!])
  }
  expect(extents.map((e) => [e.offset, e.length])).toEqual(merged)
  expect(disk.allocatedBytes).toBe(merged.reduce((s, [, l]) => s + l!, 0))
}

/** `count` reads at odd offsets and lengths, compared with the raw file. */
async function expectRandomReads(disk: VirtualDisk, raw: string, count: number): Promise<void> {
  const handle = await open(raw, 'r')
  try {
    let seed = 12345
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n
    for (let i = 0; i < count; i++) {
      const length = 1 + rand(3 * disk.blockSize > 4 * MiB ? 3 * MiB : disk.blockSize * 2)
      const offset = rand(disk.virtualSize - length + 1)
      const want = Buffer.alloc(length)
      await handle.read(want, 0, length, offset)
      expect((await disk.read(offset, length)).equals(want), `read(${offset}, ${length})`).toBe(true)
    }
  } finally {
    await handle.close()
  }
}

describe('CRC-32C', () => {
  it('matches the published check values', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283)
    expect(crc32c(Buffer.alloc(32))).toBe(0x8a9136aa)
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43)
  })
})

describe('VHDX made by qemu-img', () => {
  it('reads a dynamic VHDX with 32 MiB blocks: writes at, across and inside block boundaries', async () => {
    const writes: [number, number, number][] = [
      [0xab, 1 * MiB, 64 * KiB],
      [0xcd, 32 * MiB - 4 * KiB, 8 * KiB], // straddles blocks 0 and 1
      [0xef, 70 * MiB + 512, 1024], // two sectors inside block 2
      [0x17, 70 * MiB + 5000, 77], // part of a sector
      [0x42, 100 * MiB - 4 * KiB, 4 * KiB], // the last bytes of the disk
    ]
    const { path, raw } = qemuDisk('dyn32', 100 * MiB, { block_size: String(32 * MiB) }, writes)
    const disk = await openDisk([await local(path)])
    expect(disk).toMatchObject({ format: 'vhdx', virtualSize: 100 * MiB, blockSize: 32 * MiB, logicalSectorSize: 512 })
    expect(disk.files).toMatchObject([{ type: 'dynamic', format: 'vhdx', name: expect.stringContaining('dyn32.vhdx') }])
    await expectStreamMatches(disk, raw)
    expectExtents(disk, raw, writes)
    await expectRandomReads(disk, raw, 40)
  })

  it('reads a dynamic VHDX with 1 MiB blocks whose size is not a multiple of the block size', async () => {
    const size = 20 * MiB + 3 * 512
    const writes: [number, number, number][] = [
      [0x01, 0, 512],
      [0x02, 1 * MiB - 512, 2 * MiB], // three blocks
      [0x03, 7 * MiB + 123, 4567],
      [0x04, 20 * MiB, 3 * 512], // the partial last block
    ]
    const { path, raw } = qemuDisk('dyn1', size, { block_size: String(MiB) }, writes)
    expect(virtualSizeOf('vhdx', path)).toBe(size)
    const disk = await openDisk([await local(path)])
    expect(disk).toMatchObject({ virtualSize: size, blockSize: MiB })
    await expectStreamMatches(disk, raw)
    expectExtents(disk, raw, writes)
    await expectRandomReads(disk, raw, 100)
  })

  it('reads fixed VHDX files, with fully present and with zero-state blocks', async () => {
    const writes: [number, number, number][] = [
      [0x5a, 3 * MiB + 512, 300 * KiB],
      [0x6b, 15 * MiB, MiB],
    ]
    const full = qemuDisk('fixed', 16 * MiB, { subformat: 'fixed', block_state_zero: 'off', block_size: String(MiB) }, writes)
    const disk = await openDisk([await local(full.path)])
    expect(disk.files[0]!.type).toBe('fixed')
    expect(disk.allocatedExtents()).toEqual([{ offset: 0, length: 16 * MiB }])
    await expectStreamMatches(disk, full.raw)
    // qemu's default for fixed files: blocks in state ZERO until written.
    const zeroState = qemuDisk('fixedzero', 16 * MiB, { subformat: 'fixed', block_size: String(MiB) }, writes)
    const disk2 = await openDisk([await local(zeroState.path)])
    await expectStreamMatches(disk2, zeroState.raw)
    expectExtents(disk2, zeroState.raw, writes)
  })

  it('reads an empty disk as zeros, from its metadata alone', async () => {
    const { path, raw } = qemuDisk('empty', 64 * MiB, {}, [])
    const counted = countingFile(await local(path))
    const disk = await openDisk([counted.file])
    expect(disk.allocatedExtents()).toEqual([])
    expect(disk.allocatedBytes).toBe(0)
    const opening = counted.stats.bytes
    await expectStreamMatches(disk, raw)
    expect(counted.stats.bytes).toBe(opening)
  })

  it('reads a sparse disk larger than 4 GiB', async () => {
    const writes: [number, number, number][] = [
      [0x11, 0, 64 * KiB],
      [0xcd, 4100 * MiB, MiB],
      [0x99, 5 * GiB - 4 * KiB, 4 * KiB],
    ]
    const { path, raw } = qemuDisk('big', 5 * GiB, {}, writes)
    const disk = await openDisk([await local(path)])
    expect(disk.virtualSize).toBe(5 * GiB)
    await expectStreamMatches(disk, raw, false)
    expectExtents(disk, raw, writes)
    const at = (await disk.read(4100 * MiB - 100, 200)).toString('hex')
    expect(at).toBe('00'.repeat(100) + 'cd'.repeat(100))
  })

  it('reads only the metadata and the allocated blocks', async () => {
    const writes: [number, number, number][] = [
      [0x21, 300 * MiB, MiB],
      [0x22, 700 * MiB + 512 * KiB, MiB], // straddles two 1 MiB blocks
    ]
    const { path, raw } = qemuDisk('sparse1g', GiB, { block_size: String(MiB) }, writes)
    const counted = countingFile(await local(path))
    const disk = await openDisk([counted.file])
    await expectStreamMatches(disk, raw, false)
    // 3 allocated blocks, plus headers (2 × 4 KiB), region table and metadata table (64 KiB each), items and a 8 KiB BAT.
    expect(disk.allocatedBytes).toBe(3 * MiB)
    expect(counted.stats.bytes).toBeLessThanOrEqual(3 * MiB + 256 * KiB)
  })
})

describe('damaged VHDX files', () => {
  let base: { path: string; raw: string }
  beforeAll(() => {
    base = qemuDisk('base', 8 * MiB, { block_size: String(MiB) }, [[0x77, 2 * MiB, 100 * KiB]])
  })

  /** A copy of the base file with `change` applied to its bytes. */
  function damaged(name: string, change: (b: Buffer) => void): string {
    const path = fixture.tmp().path(`${name}.vhdx`)
    copyFileSync(base.path, path)
    const bytes = readFileSync(path)
    change(bytes)
    writeFileSync(path, bytes)
    return path
  }
  const current = (b: Buffer) => (b.readBigUInt64LE(64 * KiB + 8) > b.readBigUInt64LE(128 * KiB + 8) ? 64 * KiB : 128 * KiB)

  it('falls back to the other header when the current one fails its checksum', async () => {
    const path = damaged('hdr1', (b) => void (b[current(b) + 100]! ^= 0xff))
    await expectStreamMatches(await openDisk([await local(path)]), base.raw)
  })

  it('refuses a file whose two headers both fail their checksum, naming it', async () => {
    const path = damaged('hdr2', (b) => {
      b[64 * KiB + 100]! ^= 0xff
      b[128 * KiB + 100]! ^= 0xff
    })
    const error = await openDisk([await local(path)]).catch((e: unknown) => e)
    expect(error).toMatchObject({
      code: 'GUTS_UNSUPPORTED',
      message: expect.stringMatching(/hdr2\.vhdx: neither VHDX header has a valid signature and checksum/),
    })
  })

  it('uses the second region table when the first is damaged, and refuses when both are', async () => {
    const one = damaged('rt1', (b) => void (b[192 * KiB + 40]! ^= 1))
    await expectStreamMatches(await openDisk([await local(one)]), base.raw)
    const both = damaged('rt2', (b) => {
      b[192 * KiB + 40]! ^= 1
      b[256 * KiB + 40]! ^= 1
    })
    await expect(openDisk([await local(both)])).rejects.toThrow(/rt2\.vhdx: neither copy of the VHDX region table/)
  })

  it('refuses a file whose log is not empty', async () => {
    const path = damaged('dirty', (b) => {
      for (const at of [64 * KiB, 128 * KiB]) {
        b.fill(0x5c, at + 48, at + 64) // LogGuid
        sealCrc32c(b.subarray(at, at + 4 * KiB), 4)
      }
    })
    await expect(openDisk([await local(path)])).rejects.toThrow(/dirty\.vhdx: the VHDX log is not empty \(LogGuid \{5c5c5c5c-/)
  })

  it('refuses a BAT entry that points past the end of the file', async () => {
    const path = damaged('shortened', () => {})
    const bytes = readFileSync(path)
    writeFileSync(path, bytes.subarray(0, bytes.length - MiB)) // the last allocated block is gone
    await expect(openDisk([await local(path)])).rejects.toThrow(/shortened\.vhdx: payload block 2 is at byte \d+, outside the file/)
  })

  it('says a file is neither VHDX nor VHD', async () => {
    const path = fixture.tmp().path('junk.vhdx')
    writeFileSync(path, Buffer.alloc(MiB, 0x33))
    await expect(openDisk([await local(path)])).rejects.toThrow(/junk\.vhdx: the file is neither a VHDX .* nor a VHD/)
  })
})
