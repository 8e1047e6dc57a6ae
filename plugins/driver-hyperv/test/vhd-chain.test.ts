import { createHash, randomBytes } from 'node:crypto'
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs'
import { beforeAll, describe, expect, it } from 'vitest'
import { openDisk, parentPathCandidates, rawStream, readParentLocator, type VirtualDisk } from '../src/vhd/index.js'
import { vhdxDataWriteGuid, writeVhdxDiff, type DiffWrite } from './helpers/vhd-diff-writer.js'
import { vhdUniqueIdHex, writeVhdDiff } from './helpers/vhd-diff-writer-vpc.js'
import { countingFile } from './helpers/vhd-local-file.js'
import { diskFixture } from './helpers/vhd-fixture.js'
import { convertToRaw, createDisk, virtualSizeOf, writePatterns } from './helpers/vhd-qemu.js'

const KiB = 1024
const MiB = 1024 * KiB
const WIN_DIR = 'C:\\VMs\\web01\\Virtual Hard Disks'

const fixture = diskFixture(WIN_DIR)
const local = fixture.local

async function chain(...paths: string[]): Promise<VirtualDisk> {
  return openDisk(await Promise.all(paths.map(local)))
}

function write(offset: number, length: number): DiffWrite {
  return { offset, data: randomBytes(length) }
}

/** What a child's writes make of its parent's content. */
function apply(parent: Buffer, writes: DiffWrite[], zeroed: [number, number][] = []): Buffer {
  const out = Buffer.from(parent)
  for (const [offset, length] of zeroed) out.fill(0, offset, offset + length)
  for (const w of writes) w.data.copy(out, w.offset)
  return out
}

async function streamed(disk: VirtualDisk): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of rawStream(disk, { chunkSize: 64 * KiB, concurrency: 8 }) as AsyncIterable<Buffer>) chunks.push(chunk)
  return Buffer.concat(chunks)
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

async function expectContent(disk: VirtualDisk, want: Buffer): Promise<void> {
  const got = await streamed(disk)
  expect(got.length).toBe(want.length)
  expect(sha256(got)).toBe(sha256(want))
  let seed = 4242
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n
  for (let i = 0; i < 60; i++) {
    const length = 1 + rand(3 * MiB)
    const offset = rand(want.length - length + 1)
    expect((await disk.read(offset, length)).equals(want.subarray(offset, offset + length)), `read(${offset}, ${length})`).toBe(true)
  }
}

/** Every non-zero byte of `content` lies in an extent. */
function expectExtentsCover(disk: VirtualDisk, content: Buffer): void {
  const extents = disk.allocatedExtents()
  let e = 0
  let outside: number | undefined
  for (let x = 0; x < content.length && outside === undefined; x++) {
    if (content[x] === 0) continue
    while (extents[e] && extents[e]!.offset + extents[e]!.length <= x) e++
    if (!extents[e] || extents[e]!.offset > x) outside = x
  }
  expect(outside, 'a non-zero byte outside the extents').toBeUndefined()
}

const ranges = (...blocks: [number, number][]) => blocks.map(([from, to]) => ({ offset: from * MiB, length: (to - from) * MiB }))

describe('VHDX differencing chains', () => {
  let base: string
  let child1: string
  let child2: string
  let baseRaw: Buffer
  let expected1: Buffer
  let expected2: Buffer
  const size = 8 * MiB

  beforeAll(() => {
    base = fixture.tmp().path('base.vhdx')
    createDisk('vhdx', base, size, { block_size: String(MiB) })
    writePatterns('vhdx', base, [
      [0x10, 0, 2 * MiB],
      [0x20, 4 * MiB, MiB],
      [0x30, 6 * MiB, 2 * MiB],
    ])
    convertToRaw('vhdx', base, fixture.tmp().path('base.raw'))
    baseRaw = readFileSync(fixture.tmp().path('base.raw'))

    // Level 1: sectors of block 0 (partially present), block 1 whole (fully present, over the
    // parent's data), a write across blocks 4 and 5, block 6 ZERO and block 7 UNMAPPED over data.
    child1 = fixture.tmp().path('web01_1.avhdx')
    const writes1 = [write(3 * 512, 512), write(10 * 512, 11 * 512), write(MiB + 8 * KiB, 4 * KiB), write(5 * MiB - 2 * KiB, 4 * KiB)]
    writeVhdxDiff({
      parentPath: base,
      childPath: child1,
      virtualSize: size,
      writes: writes1,
      fullBlocks: [1],
      parentRaw: baseRaw,
      zeroBlocks: [6],
      unmappedBlocks: [7],
      relativePath: 'base.vhdx',
      absolutePath: `\\\\?\\${WIN_DIR}\\base.vhdx`,
    })
    expected1 = apply(baseRaw, writes1, [[6 * MiB, 2 * MiB]])

    // Level 2: the sector next to level 1's, a block nobody has, and sectors over level 1's ZERO block.
    child2 = fixture.tmp().path('web01_2.avhdx')
    const writes2 = [write(4 * 512, 512), write(3 * MiB + 512, 3 * 512), write(6 * MiB + 64 * KiB, 8 * KiB)]
    writeVhdxDiff({ parentPath: child1, childPath: child2, virtualSize: size, writes: writes2, relativePath: 'web01_1.avhdx' })
    expected2 = apply(expected1, writes2)
  })

  it('reads a two-level chain: partially and fully present blocks, ZERO and UNMAPPED over the parent', async () => {
    const disk = await chain(child1, base)
    expect(disk.files.map((f) => [f.type, f.format])).toEqual([
      ['differencing', 'vhdx'],
      ['dynamic', 'vhdx'],
    ])
    await expectContent(disk, expected1)
    expect(disk.allocatedExtents()).toEqual(ranges([0, 2], [4, 6]))
    expectExtentsCover(disk, expected1)
  })

  it('reads a three-level chain', async () => {
    const disk = await chain(child2, child1, base)
    await expectContent(disk, expected2)
    expect(disk.allocatedExtents()).toEqual(ranges([0, 2], [3, 7]))
    expectExtentsCover(disk, expected2)
  })

  it('reads from each file only the blocks that answer: the base only where the children defer', async () => {
    const files = await Promise.all([child2, child1, base].map(local))
    const counted = files.map(countingFile)
    const disk = await openDisk(counted.map((c) => c.file))
    const opening = counted.map((c) => c.stats.bytes)
    await streamed(disk)
    const baseBytes = counted[2]!.stats.bytes - opening[2]!
    // Block 0 (the sectors neither child has) and block 4 (less the 2 KiB level 1 wrote); block 1 is level 1's whole.
    expect(baseBytes).toBeLessThanOrEqual(2 * MiB)
    expect(baseBytes).toBeGreaterThan(MiB)
  })

  it('accepts a parent that matches parent_linkage2 and refuses one that matches neither, naming both files', async () => {
    const wrong = '{00000000-1111-2222-3333-444444444444}'
    const viaSecond = fixture.tmp().path('second.avhdx')
    writeVhdxDiff({
      parentPath: base,
      childPath: viaSecond,
      virtualSize: size,
      writes: [write(0, 512)],
      linkage: wrong,
      linkage2: vhdxDataWriteGuid(base),
    })
    await expect(chain(viaSecond, base)).resolves.toBeDefined()
    const broken = fixture.tmp().path('broken.avhdx')
    writeVhdxDiff({ parentPath: base, childPath: broken, virtualSize: size, writes: [write(0, 512)], linkage: wrong })
    await expect(chain(broken, base)).rejects.toMatchObject({
      code: 'GUTS_UNSUPPORTED',
      message: expect.stringContaining(
        `broken.avhdx: its parent must be the disk whose DataWriteGuid is ${wrong}, but ${WIN_DIR}\\base.vhdx has ${vhdxDataWriteGuid(base)}`,
      ),
    })
    await expect(chain(child2, base)).rejects.toThrow(/web01_2\.avhdx: its parent must be .* but .*base\.vhdx has/)
  })

  it('refuses a chain that ends with a differencing disk, or continues past a disk without parent', async () => {
    await expect(chain(child1)).rejects.toThrow(
      /web01_1\.avhdx: it is a differencing disk, but the chain given ends with it: its parent \(base\.vhdx, .*base\.vhdx\) is missing/,
    )
    await expect(chain(base, child1)).rejects.toThrow(
      /base\.vhdx: it is a dynamic disk, which has no parent, but the chain given continues with .*web01_1\.avhdx/,
    )
  })

  it("checks the link against the parent's current header: a damaged current header falls back to an older DataWriteGuid", async () => {
    const bytes = readFileSync(base)
    const [h1, h2] = [64 * KiB, 128 * KiB]
    const current = bytes.readBigUInt64LE(h1 + 8) > bytes.readBigUInt64LE(h2 + 8) ? h1 : h2
    const older = current === h1 ? h2 : h1
    // qemu gave the file a new DataWriteGuid when it first wrote data, so the older header has another.
    expect(bytes.subarray(older + 32, older + 48).equals(bytes.subarray(current + 32, current + 48))).toBe(false)
    bytes[current + 200]! ^= 0xff
    const damaged = fixture.tmp().path('base-damaged.vhdx')
    writeFileSync(damaged, bytes)
    await expect(chain(child1, damaged)).rejects.toThrow(/web01_1\.avhdx: its parent must be the disk whose DataWriteGuid is/)
    // The child's own headers (sequence 1 and 2, one DataWriteGuid): losing the current one changes nothing.
    const child = readFileSync(child1)
    child[128 * KiB + 200]! ^= 0xff
    const damagedChild = fixture.tmp().path('web01_1-damaged.avhdx')
    writeFileSync(damagedChild, child)
    await expectContent(await chain(damagedChild, base), expected1)
  })

  it('reads the parent locator, and turns it into paths to try', async () => {
    const file = await local(child1)
    const locator = await readParentLocator(file)
    expect(locator).toEqual({
      format: 'vhdx',
      linkage: [vhdxDataWriteGuid(base)],
      paths: [
        { kind: 'relative', path: 'base.vhdx' },
        { kind: 'absolute', path: `\\\\?\\${WIN_DIR}\\base.vhdx` },
      ],
      entries: { parent_linkage: vhdxDataWriteGuid(base), relative_path: 'base.vhdx', absolute_win32_path: `\\\\?\\${WIN_DIR}\\base.vhdx` },
    })
    expect(parentPathCandidates(file.name, locator!)).toEqual([`${WIN_DIR}\\base.vhdx`])
    expect(parentPathCandidates('D:\\Moved\\web01_1.avhdx', locator!)).toEqual(['D:\\Moved\\base.vhdx', `${WIN_DIR}\\base.vhdx`])
    expect(await readParentLocator(await local(base))).toBeUndefined()
  })
})

describe('VHD differencing chains', () => {
  let base: string
  let child1: string
  let child2: string
  let size: number
  let expected1: Buffer
  let expected2: Buffer

  beforeAll(() => {
    base = fixture.tmp().path('base.vhd')
    createDisk('vpc', base, 8 * MiB)
    size = virtualSizeOf('vpc', base)
    writePatterns('vpc', base, [
      [0x61, 0, 2 * MiB + 4 * KiB],
      [0x62, 5 * MiB, 512 * KiB],
    ])
    convertToRaw('vpc', base, fixture.tmp().path('base-vhd.raw'))
    const baseRaw = readFileSync(fixture.tmp().path('base-vhd.raw'))
    child1 = fixture.tmp().path('db01_1.avhd')
    const writes1 = [write(7 * 512, 2 * 512), write(4 * MiB - KiB, 2 * KiB), write(6 * MiB + 512, 512)]
    writeVhdDiff({
      parentPath: base,
      childPath: child1,
      virtualSize: size,
      writes: writes1,
      relativePath: '.\\base.vhd',
      absolutePath: `${WIN_DIR}\\base.vhd`,
    })
    expected1 = apply(baseRaw, writes1)
    child2 = fixture.tmp().path('db01_2.avhd')
    const writes2 = [write(8 * 512, 4 * 512), write(5 * MiB + 100 * KiB, 4 * KiB)]
    writeVhdDiff({ parentPath: child1, childPath: child2, virtualSize: size, writes: writes2, relativePath: 'db01_1.avhd' })
    expected2 = apply(expected1, writes2)
  })

  it('reads two- and three-level chains: sectors from the child where its bitmap says so, the rest from the parent', async () => {
    const two = await chain(child1, base)
    expect(two.files.map((f) => [f.type, f.format])).toEqual([
      ['differencing', 'vpc'],
      ['dynamic', 'vpc'],
    ])
    await expectContent(two, expected1)
    // Blocks 0-3 are allocated somewhere in the chain; the CHS size leaves a last, unallocated 2 KiB block.
    expect(size).toBe(8 * MiB + 2 * KiB)
    expect(two.allocatedExtents()).toEqual([{ offset: 0, length: 8 * MiB }])
    await expectContent(await chain(child2, child1, base), expected2)
  })

  it('refuses a parent whose Unique Id is not the Parent Unique ID, naming both files', async () => {
    const broken = fixture.tmp().path('broken.avhd')
    writeVhdDiff({
      parentPath: base,
      childPath: broken,
      virtualSize: size,
      writes: [write(0, 512)],
      parentUniqueId: '00'.repeat(15) + '01',
    })
    await expect(chain(broken, base)).rejects.toThrow(
      /broken\.avhd: its parent must be the disk whose Unique Id is \{.*\}, but .*base\.vhd has \{/,
    )
    await expect(chain(child1)).rejects.toThrow(
      /db01_1\.avhd: it is a differencing disk, but the chain given ends with it: its parent \(\.\\base\.vhd, .*\) is missing/,
    )
  })

  it('refuses a chain that mixes VHDX and VHD', async () => {
    const vhdxChild = fixture.tmp().path('mixed.avhdx')
    writeVhdxDiff({ parentPath: fixture.tmp().path('base.vhdx'), childPath: vhdxChild, virtualSize: 8 * MiB, writes: [write(0, 512)] })
    await expect(chain(vhdxChild, base)).rejects.toThrow(
      /mixed\.avhdx: it is a VHDX differencing disk, but the next file of the chain, .*base\.vhd, is a VHD/,
    )
  })

  it('reads the parent locator: W2ru, W2ku and the Parent Unicode Name', async () => {
    const locator = await readParentLocator(await local(child1))
    const disk = await chain(child1, base)
    expect(locator).toEqual({
      format: 'vpc',
      linkage: [disk.files[1]!.identity],
      paths: [
        { kind: 'relative', path: '.\\base.vhd' },
        { kind: 'absolute', path: `${WIN_DIR}\\base.vhd` },
      ],
      entries: { W2ru: '.\\base.vhd', W2ku: `${WIN_DIR}\\base.vhd`, parentUnicodeName: 'parent.vhd' },
    })
    expect(vhdUniqueIdHex(base)).toHaveLength(32)
    expect(parentPathCandidates(`${WIN_DIR}\\db01_1.avhd`, locator!)).toEqual([`${WIN_DIR}\\base.vhd`])
  })

  it('copies the base file unchanged into a chain of one', async () => {
    const copy = fixture.tmp().path('alone.vhd')
    copyFileSync(base, copy)
    await expectContent(await chain(copy), readFileSync(fixture.tmp().path('base-vhd.raw')))
  })
})
