import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'

/**
 * Test-only writers of differencing disks, which qemu-img cannot make. Written from the specs
 * (MS-VHDX v1.0; Microsoft "Virtual Hard Disk Image Format Specification" 1.0) and sharing no
 * code with src/vhd, so that reading their output back proves the reader follows the specs and
 * not merely itself. Disks stay small: everything is built in memory.
 */
export interface DiffWrite {
  /** Virtual offset; offset and length are multiples of 512. */
  offset: number
  data: Buffer
}

const KiB = 1024
const MiB = 1024 * KiB

// ---- small independent encoders -------------------------------------------------------------

/** CRC-32C bit by bit (the reader uses a table; agreeing proves both). */
function crc32c(buf: Buffer): number {
  let crc = 0xffffffff
  for (const byte of buf) {
    crc ^= byte
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1
  }
  return (crc ^ 0xffffffff) >>> 0
}

/** Sets the CRC-32C of `buf` at `at` (computed with the field zero), as MS-VHDX headers and region tables carry it. */
export function sealCrc32c(buf: Buffer, at: number): void {
  buf.writeUInt32LE(0, at)
  buf.writeUInt32LE(crc32c(buf), at)
}

/** A GUID's text the Windows way: Data1-3 are stored little-endian. */
function guidText(b: Buffer, at = 0): string {
  const h = (i: number) => b[at + i]!.toString(16).padStart(2, '0')
  const order = [3, 2, 1, 0, -1, 5, 4, -1, 7, 6, -1, 8, 9, -1, 10, 11, 12, 13, 14, 15]
  return `{${order.map((i) => (i < 0 ? '-' : h(i))).join('')}}`
}

function utf16(text: string): Buffer {
  return Buffer.from(text, 'utf16le')
}

// ---- VHDX -------------------------------------------------------------------------------------

export interface VhdxDiffOptions {
  parentPath: string
  childPath: string
  virtualSize: number
  blockSize?: number
  writes: DiffWrite[]
  /** Blocks stored FULLY_PRESENT: sectors no write covers are copied from `parentRaw`. */
  fullBlocks?: number[]
  parentRaw?: Buffer
  /** Blocks in state PAYLOAD_BLOCK_ZERO (2) and PAYLOAD_BLOCK_UNMAPPED (3). */
  zeroBlocks?: number[]
  unmappedBlocks?: number[]
  /** Overrides the parent's DataWriteGuid in parent_linkage (for broken-chain tests); `linkage2` adds parent_linkage2. */
  linkage?: string
  linkage2?: string
  relativePath?: string
  absolutePath?: string
}

/** The DataWriteGuid of the header with the higher sequence number among those with the "head" signature (MS-VHDX 2.2.2). */
export function vhdxDataWriteGuid(path: string): string {
  const file = readFileSync(path)
  const headers = [64 * KiB, 128 * KiB].map((at) => file.subarray(at, at + 4 * KiB)).filter((h) => h.toString('latin1', 0, 4) === 'head')
  headers.sort((a, b) => Number(b.readBigUInt64LE(8) - a.readBigUInt64LE(8)))
  return guidText(headers[0]!, 32)
}

/** Writes a differencing VHDX of `parentPath`; returns the child's DataWriteGuid. */
export function writeVhdxDiff(o: VhdxDiffOptions): string {
  const sector = 512
  const blockSize = o.blockSize ?? MiB
  const chunkRatio = (2 ** 23 * sector) / blockSize
  const payloadBlocks = Math.ceil(o.virtualSize / blockSize)
  const chunks = Math.ceil(payloadBlocks / chunkRatio)
  const batEntries = chunks * (chunkRatio + 1) // MS-VHDX 2.5: differencing BAT reaches the last sector bitmap entry
  const batLength = Math.ceil((batEntries * 8) / MiB) * MiB
  const dataWriteGuid = randomBytes(16)

  // Per block: its bytes and sector bitmap (bit 0 of byte 0 = first sector, 1 = present in this file).
  const blocks = new Map<number, { data: Buffer; bits: Buffer }>()
  const blockOf = (b: number) => {
    let e = blocks.get(b)
    if (!e) blocks.set(b, (e = { data: Buffer.alloc(blockSize), bits: Buffer.alloc(blockSize / sector / 8) }))
    return e
  }
  for (const w of o.writes) {
    for (let s = 0; s < w.data.length / sector; s++) {
      const v = w.offset + s * sector
      const b = Math.floor(v / blockSize)
      const within = v - b * blockSize
      const e = blockOf(b)
      w.data.copy(e.data, within, s * sector, (s + 1) * sector)
      e.bits[(within / sector) >> 3]! |= 1 << ((within / sector) & 7)
    }
  }
  for (const b of o.fullBlocks ?? []) {
    const e = blockOf(b)
    for (let s = 0; s < blockSize / sector; s++) {
      if ((e.bits[s >> 3]! >> (s & 7)) & 1) continue
      o.parentRaw!.copy(e.data, s * sector, b * blockSize + s * sector, Math.min(b * blockSize + (s + 1) * sector, o.parentRaw!.length))
    }
  }

  // File layout: header section (1 MiB), log (1 MiB, empty), metadata (1 MiB), BAT, then blocks.
  const metadataAt = 2 * MiB
  const batAt = 3 * MiB
  let next = batAt + batLength
  const bat = Buffer.alloc(batLength)
  const setEntry = (index: number, state: number, offset: number) => {
    bat.writeBigUInt64LE((BigInt(offset / MiB) * BigInt(MiB)) | BigInt(state), index * 8)
  }
  const payload: [number, Buffer][] = []
  const sbBlocks = new Map<number, Buffer>()
  for (const [b, e] of [...blocks].sort((x, y) => x[0] - y[0])) {
    const full = (o.fullBlocks ?? []).includes(b)
    const index = b + Math.floor(b / chunkRatio)
    setEntry(index, full ? 6 : 7, next)
    payload.push([next, e.data])
    next += blockSize
    if (!full) {
      const chunk = Math.floor(b / chunkRatio)
      let sb = sbBlocks.get(chunk)
      if (!sb) sbBlocks.set(chunk, (sb = Buffer.alloc(MiB)))
      e.bits.copy(sb, ((b % chunkRatio) * (blockSize / sector)) / 8)
    }
  }
  for (const b of o.zeroBlocks ?? []) setEntry(b + Math.floor(b / chunkRatio), 2, 0)
  for (const b of o.unmappedBlocks ?? []) setEntry(b + Math.floor(b / chunkRatio), 3, 0)
  for (const [chunk, sb] of sbBlocks) {
    setEntry(chunk * (chunkRatio + 1) + chunkRatio, 6, next)
    payload.push([next, sb])
    next += MiB
  }

  const file = Buffer.alloc(next)
  file.write('vhdxfile', 0, 'latin1')
  utf16('guts test diff writer').copy(file, 8)
  for (const [at, seq] of [
    [64 * KiB, 1n],
    [128 * KiB, 2n],
  ] as const) {
    const h = file.subarray(at, at + 4 * KiB)
    h.write('head', 0, 'latin1')
    h.writeBigUInt64LE(seq, 8)
    randomBytes(16).copy(h, 16) // FileWriteGuid
    dataWriteGuid.copy(h, 32)
    // LogGuid (48) stays zero: no log to replay. LogVersion 0, Version 1, log of 1 MiB at 1 MiB.
    h.writeUInt16LE(1, 66)
    h.writeUInt32LE(MiB, 68)
    h.writeBigUInt64LE(BigInt(MiB), 72)
    sealCrc32c(h, 4)
  }
  const regions = Buffer.alloc(64 * KiB)
  regions.write('regi', 0, 'latin1')
  regions.writeUInt32LE(2, 8)
  writeGuid('2DC27766-F623-4200-9D64-115E9BFD4A08', regions, 16)
  regions.writeBigUInt64LE(BigInt(batAt), 32)
  regions.writeUInt32LE(batLength, 40)
  regions.writeUInt32LE(1, 44)
  writeGuid('8B7CA206-4790-4B9A-B8FE-575F050F886E', regions, 48)
  regions.writeBigUInt64LE(BigInt(metadataAt), 64)
  regions.writeUInt32LE(MiB, 72)
  regions.writeUInt32LE(1, 76)
  sealCrc32c(regions, 4)
  regions.copy(file, 192 * KiB)
  regions.copy(file, 256 * KiB)
  vhdxMetadata(o, blockSize).copy(file, metadataAt)
  bat.copy(file, batAt)
  for (const [at, data] of payload) data.copy(file, at)
  writeFileSync(o.childPath, file)
  return guidText(dataWriteGuid)
}

/** MS-VHDX 2.6: the metadata table, then its items from 64 KiB on. */
function vhdxMetadata(o: VhdxDiffOptions, blockSize: number): Buffer {
  const region = Buffer.alloc(MiB)
  const params = Buffer.alloc(8)
  params.writeUInt32LE(blockSize, 0)
  params.writeUInt32LE(2, 4) // HasParent
  const size = Buffer.alloc(8)
  size.writeBigUInt64LE(BigInt(o.virtualSize))
  const u32 = (v: number) => Buffer.from(Uint32Array.of(v).buffer)
  const items: [guid: string, flags: number, data: Buffer][] = [
    ['CAA16737-FA36-4D43-B3B6-33F0AA44E76B', 4, params],
    ['2FA54224-CD1B-4876-B211-5DBED83BF4B8', 6, size],
    ['BECA12AB-B2E6-4523-93EF-C309E000C746', 6, randomBytes(16)],
    ['8141BF1D-A96F-4709-BA47-F233A8FAAB5F', 6, u32(512)],
    ['CDA348C7-445D-4471-9CC9-E9885251C556', 6, u32(4096)],
    ['A8D35F2D-B30B-454D-ABF7-D3D84834AB0C', 4, parentLocatorItem(o)],
  ]
  region.write('metadata', 0, 'latin1')
  region.writeUInt16LE(items.length, 10)
  let at = 64 * KiB
  items.forEach(([guid, flags, data], i) => {
    const e = 32 + i * 32
    writeGuid(guid, region, e)
    region.writeUInt32LE(at, e + 16)
    region.writeUInt32LE(data.length, e + 20)
    region.writeUInt32LE(flags, e + 24)
    data.copy(region, at)
    at += Math.ceil(data.length / 4096) * 4096
  })
  return region
}

/** MS-VHDX 2.6.2.6: header (locator type, reserved, count), 12-byte entries, then UTF-16LE keys and values. */
function parentLocatorItem(o: VhdxDiffOptions): Buffer {
  const pairs: [string, string][] = [['parent_linkage', o.linkage ?? vhdxDataWriteGuid(o.parentPath)]]
  if (o.linkage2) pairs.push(['parent_linkage2', o.linkage2])
  if (o.relativePath) pairs.push(['relative_path', o.relativePath])
  if (o.absolutePath) pairs.push(['absolute_win32_path', o.absolutePath])
  const header = Buffer.alloc(20 + pairs.length * 12)
  writeGuid('B04AEFB7-D19E-4A81-B789-25B8E9445913', header, 0)
  header.writeUInt16LE(pairs.length, 18)
  const strings: Buffer[] = []
  let at = header.length
  pairs.forEach(([k, v], i) => {
    const key = utf16(k)
    const value = utf16(v)
    header.writeUInt32LE(at, 20 + i * 12)
    header.writeUInt32LE(at + key.length, 20 + i * 12 + 4)
    header.writeUInt16LE(key.length, 20 + i * 12 + 8)
    header.writeUInt16LE(value.length, 20 + i * 12 + 10)
    strings.push(key, value)
    at += key.length + value.length
  })
  return Buffer.concat([header, ...strings])
}

/** Writes a GUID given as text in the Windows layout (Data1-3 little-endian). */
function writeGuid(text: string, buf: Buffer, at: number): void {
  const hex = text.replace(/[{}-]/g, '')
  const bytes = Buffer.from(hex, 'hex')
  const order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15]
  order.forEach((from, to) => (buf[at + to] = bytes[from]!))
}
