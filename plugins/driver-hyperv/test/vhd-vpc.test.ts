import { copyFileSync, readFileSync, writeFileSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { openDisk, rawStream, type VirtualDisk } from '../src/vhd/index.js'
import { diskFixture } from './helpers/vhd-fixture.js'
import { compareStreamWithRaw, dataRanges, sha256File, virtualSizeOf } from './helpers/vhd-qemu.js'

const KiB = 1024
const MiB = 1024 * KiB
const GiB = 1024 * MiB

const fixture = diskFixture('D:\\VMs')
const local = fixture.local
const qemuDisk = (name: string, size: number, options: Record<string, string>, writes: [number, number, number][]) =>
  fixture.qemuDisk('vpc', name, size, options, writes)

async function expectStreamMatches(disk: VirtualDisk, raw: string, withHash = true): Promise<void> {
  const result = await compareStreamWithRaw(rawStream(disk, { concurrency: 8, chunkSize: 128 * KiB }), raw, withHash)
  expect(result.bytes).toBe(disk.virtualSize)
  if (withHash) expect(result.sha256).toBe(sha256File(raw))
}

/** qemu's vpc driver reports allocation per block, as the reader does: the extents must be the same. */
function expectExtentsAsQemu(disk: VirtualDisk, path: string): void {
  const merged: { offset: number; length: number }[] = []
  for (const r of dataRanges('vpc', path)) {
    const last = merged[merged.length - 1]
    if (last && last.offset + last.length === r.offset) last.length += r.length
    else merged.push({ ...r })
  }
  expect(disk.allocatedExtents()).toEqual(merged)
}

async function expectRandomReads(disk: VirtualDisk, raw: string, count: number): Promise<void> {
  const handle = await open(raw, 'r')
  try {
    let seed = 777
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n
    for (let i = 0; i < count; i++) {
      const length = 1 + rand(5 * MiB)
      const offset = rand(disk.virtualSize - length + 1)
      const want = Buffer.alloc(length)
      await handle.read(want, 0, length, offset)
      expect((await disk.read(offset, length)).equals(want), `read(${offset}, ${length})`).toBe(true)
    }
  } finally {
    await handle.close()
  }
}

/** Rewrites both footers of a VHD (at 0 for dynamic disks, and at the end) with `change`, fixing their checksum. */
function patchFooters(path: string, change: (footer: Buffer) => void): void {
  const bytes = readFileSync(path)
  for (const at of [0, bytes.length - 512]) {
    const footer = bytes.subarray(at, at + 512)
    if (footer.toString('latin1', 0, 8) !== 'conectix') continue
    change(footer)
    footer.writeUInt32BE(0, 64)
    let sum = 0
    for (const b of footer) sum += b
    footer.writeUInt32BE(~sum >>> 0, 64)
  }
  writeFileSync(path, bytes)
}

describe('VHD made by qemu-img', () => {
  it('reads a dynamic VHD: writes at, across and inside 2 MiB blocks', async () => {
    const writes: [number, number, number][] = [
      [0xab, 0, 4 * KiB],
      [0xcd, 2 * MiB - 4 * KiB, 8 * KiB], // straddles blocks 0 and 1
      [0x12, 9 * MiB + 100, 333], // part of two sectors
      [0x34, 30 * MiB, 3 * MiB],
    ]
    const { path, raw } = qemuDisk('dyn', 50 * MiB, {}, writes)
    const disk = await openDisk([await local(path)])
    expect(disk).toMatchObject({ format: 'vpc', virtualSize: virtualSizeOf('vpc', path), blockSize: 2 * MiB, logicalSectorSize: 512 })
    expect(disk.files).toMatchObject([{ format: 'vpc', type: 'dynamic' }])
    await expectStreamMatches(disk, raw)
    expectExtentsAsQemu(disk, path)
    await expectRandomReads(disk, raw, 40)
  })

  it('reads a fixed VHD', async () => {
    const { path, raw } = qemuDisk('fixed', 10 * MiB, { subformat: 'fixed' }, [
      [0x55, 512, 512],
      [0x66, 5 * MiB - 1, 2],
    ])
    const disk = await openDisk([await local(path)])
    expect(disk.files[0]!.type).toBe('fixed')
    expect(disk.allocatedExtents()).toEqual([{ offset: 0, length: disk.virtualSize }])
    await expectStreamMatches(disk, raw)
    await expectRandomReads(disk, raw, 20)
  })

  it('reads an empty dynamic VHD as zeros', async () => {
    const { path, raw } = qemuDisk('empty', 20 * MiB, {}, [])
    const disk = await openDisk([await local(path)])
    expect(disk.allocatedExtents()).toEqual([])
    await expectStreamMatches(disk, raw)
  })

  it('reads a disk whose size is not a multiple of the block size (qemu force_size: Current Size counts)', async () => {
    const size = 5 * MiB + 3 * 512
    const writes: [number, number, number][] = [
      [0x21, 3 * MiB + 100, 100],
      [0x22, size - 1024, 1024],
    ]
    const { path, raw } = qemuDisk('odd', size, { force_size: 'on' }, writes)
    expect(virtualSizeOf('vpc', path)).toBe(size)
    const disk = await openDisk([await local(path)])
    expect(disk.virtualSize).toBe(size)
    await expectStreamMatches(disk, raw)
    expectExtentsAsQemu(disk, path)
  })

  it('reads a sparse dynamic VHD larger than 4 GiB', async () => {
    const writes: [number, number, number][] = [
      [0x31, 4 * GiB + 3 * MiB, MiB],
      [0x32, 5 * GiB + 512, 512],
    ]
    const { path, raw } = qemuDisk('big', 6 * GiB, {}, writes)
    const disk = await openDisk([await local(path)])
    expect(disk.virtualSize).toBe(virtualSizeOf('vpc', path))
    await expectStreamMatches(disk, raw, false)
    expectExtentsAsQemu(disk, path)
    expect((await disk.read(5 * GiB, 1024)).toString('hex')).toBe('00'.repeat(512) + '32'.repeat(512))
  })

  it('sizes the disk as qemu does: by CHS geometry for qemu and Virtual PC files, by Current Size for the others', async () => {
    const { path } = qemuDisk('chs', 30 * MiB, {}, [[0x41, 0, 512]])
    const chsSize = virtualSizeOf('vpc', path)
    patchFooters(path, (f) => f.writeBigUInt64BE(BigInt(chsSize - 3 * MiB), 48)) // Current Size now disagrees with CHS
    expect(virtualSizeOf('vpc', path)).toBe(chsSize) // creator "qemu": CHS
    expect((await openDisk([await local(path)])).virtualSize).toBe(chsSize)
    const hyperv = fixture.tmp().path('chs-win.vhd')
    copyFileSync(path, hyperv)
    patchFooters(hyperv, (f) => f.write('win ', 28, 'latin1'))
    expect(virtualSizeOf('vpc', hyperv)).toBe(chsSize - 3 * MiB) // creator "win ": Current Size
    expect((await openDisk([await local(hyperv)])).virtualSize).toBe(chsSize - 3 * MiB)
  })
})

describe('damaged VHD files', () => {
  it('uses the footer copy at the start of a dynamic VHD when the one at the end is damaged', async () => {
    const { path, raw } = qemuDisk('footer', 8 * MiB, {}, [[0x51, MiB, 64 * KiB]])
    const bytes = readFileSync(path)
    bytes[bytes.length - 512 + 50]! ^= 0xff
    writeFileSync(path, bytes)
    await expectStreamMatches(await openDisk([await local(path)]), raw)
  })

  it('refuses a fixed VHD whose footer fails its checksum, naming the file', async () => {
    const { path } = qemuDisk('badfixed', 4 * MiB, { subformat: 'fixed' }, [])
    const bytes = readFileSync(path)
    bytes[bytes.length - 512 + 50]! ^= 0xff
    writeFileSync(path, bytes)
    await expect(openDisk([await local(path)])).rejects.toMatchObject({
      code: 'GUTS_UNSUPPORTED',
      message: expect.stringMatching(/^D:\\VMs\\badfixed\.vhd: the VHD footer checksum does not match/),
    })
  })

  it('refuses a dynamic disk header that fails its checksum', async () => {
    const { path } = qemuDisk('badheader', 4 * MiB, {}, [])
    const bytes = readFileSync(path)
    bytes[512 + 30]! ^= 0xff
    writeFileSync(path, bytes)
    await expect(openDisk([await local(path)])).rejects.toThrow(/badheader\.vhd: the VHD dynamic disk header checksum does not match/)
  })
})
