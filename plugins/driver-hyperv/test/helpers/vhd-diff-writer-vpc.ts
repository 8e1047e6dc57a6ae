import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import type { DiffWrite } from './vhd-diff-writer.js'

/**
 * A test-only writer of differencing VHDs (disk type 4), from the "Virtual Hard Disk Image Format
 * Specification" alone and sharing no code with src/vhd. Big-endian fields throughout.
 */
export interface VhdDiffOptions {
  parentPath: string
  childPath: string
  virtualSize: number
  blockSize?: number
  writes: DiffWrite[]
  /** Overrides the parent's Unique Id (for broken-chain tests), as 32 hex digits. */
  parentUniqueId?: string
  relativePath?: string
  absolutePath?: string
}

const SECTOR = 512

/** The footer's Unique Id (bytes 68-83 of the last 512 bytes), as 32 hex digits. */
export function vhdUniqueIdHex(path: string): string {
  const file = readFileSync(path)
  return file.subarray(file.length - SECTOR + 68, file.length - SECTOR + 84).toString('hex')
}

/** "Checksum": the one's complement of the sum of the bytes, the checksum field zero while summing. */
function sealChecksum(buf: Buffer, at: number): void {
  buf.writeUInt32BE(0, at)
  let sum = 0
  for (const b of buf) sum = (sum + b) >>> 0
  buf.writeUInt32BE(~sum >>> 0, at)
}

function padToSector(b: Buffer): Buffer {
  return Buffer.concat([b, Buffer.alloc((SECTOR - (b.length % SECTOR)) % SECTOR)])
}

export function writeVhdDiff(o: VhdDiffOptions): void {
  const blockSize = o.blockSize ?? 2 * 1024 * 1024
  const entries = Math.ceil(o.virtualSize / blockSize)
  const bitmapBytes = Math.ceil(blockSize / SECTOR / 8 / SECTOR) * SECTOR
  const parentFooter = readFileSync(o.parentPath).subarray(-SECTOR)

  // Blocks: a sector bitmap (sector 0 = most significant bit of byte 0) then the data.
  const blocks = new Map<number, Buffer>()
  for (const w of o.writes) {
    for (let s = 0; s < w.data.length / SECTOR; s++) {
      const v = w.offset + s * SECTOR
      const b = Math.floor(v / blockSize)
      let block = blocks.get(b)
      if (!block) blocks.set(b, (block = Buffer.alloc(bitmapBytes + blockSize)))
      const sectorInBlock = (v - b * blockSize) / SECTOR
      block[sectorInBlock >> 3]! |= 0x80 >> (sectorInBlock & 7)
      w.data.copy(block, bitmapBytes + sectorInBlock * SECTOR, s * SECTOR, (s + 1) * SECTOR)
    }
  }

  // Layout: footer copy (512), dynamic header (1024), BAT, parent locator data, blocks, footer.
  const tableOffset = 3 * SECTOR
  const bat = Buffer.alloc(Math.ceil((entries * 4) / SECTOR) * SECTOR, 0xff)
  const locators: [code: string, data: Buffer][] = []
  if (o.relativePath) locators.push(['W2ru', Buffer.from(o.relativePath, 'utf16le')])
  if (o.absolutePath) locators.push(['W2ku', Buffer.from(o.absolutePath, 'utf16le')])
  let next = tableOffset + bat.length
  const locatorAt = locators.map(([, data]) => {
    const at = next
    next += padToSector(data).length
    return at
  })
  const blockAt = new Map<number, number>()
  for (const b of [...blocks.keys()].sort((x, y) => x - y)) {
    bat.writeUInt32BE(next / SECTOR, b * 4)
    blockAt.set(b, next)
    next += bitmapBytes + blockSize
  }

  const footer = Buffer.alloc(SECTOR)
  footer.write('conectix', 0, 'latin1')
  footer.writeUInt32BE(2, 8)
  footer.writeUInt32BE(0x00010000, 12)
  footer.writeBigUInt64BE(512n, 16)
  footer.writeUInt32BE(Math.floor((Date.now() - Date.UTC(2000, 0, 1)) / 1000), 24)
  footer.write('win ', 28, 'latin1')
  footer.writeUInt32BE(0x000a0000, 32)
  footer.write('Wi2k', 36, 'latin1')
  footer.writeBigUInt64BE(BigInt(o.virtualSize), 40)
  footer.writeBigUInt64BE(BigInt(o.virtualSize), 48)
  footer.writeUInt16BE(Math.min(65535, Math.ceil(o.virtualSize / SECTOR / 16 / 63)), 56)
  footer[58] = 16
  footer[59] = 63
  footer.writeUInt32BE(4, 60)
  randomBytes(16).copy(footer, 68)
  sealChecksum(footer, 64)

  const header = Buffer.alloc(1024)
  header.write('cxsparse', 0, 'latin1')
  header.writeBigUInt64BE(0xffffffffffffffffn, 8)
  header.writeBigUInt64BE(BigInt(tableOffset), 16)
  header.writeUInt32BE(0x00010000, 24)
  header.writeUInt32BE(entries, 28)
  header.writeUInt32BE(blockSize, 32)
  ;(o.parentUniqueId ? Buffer.from(o.parentUniqueId, 'hex') : parentFooter.subarray(68, 84)).copy(header, 40)
  header.writeUInt32BE(parentFooter.readUInt32BE(24), 56)
  Buffer.from('parent.vhd', 'utf16le').swap16().copy(header, 64)
  locators.forEach(([code, data], i) => {
    const e = 576 + i * 24
    header.write(code, e, 'latin1')
    header.writeUInt32BE(padToSector(data).length, e + 4)
    header.writeUInt32BE(data.length, e + 8)
    header.writeBigUInt64BE(BigInt(locatorAt[i]!), e + 16)
  })
  sealChecksum(header, 36)

  const file = Buffer.alloc(next + SECTOR)
  footer.copy(file, 0)
  header.copy(file, SECTOR)
  bat.copy(file, tableOffset)
  locators.forEach(([, data], i) => data.copy(file, locatorAt[i]!))
  for (const [b, block] of blocks) block.copy(file, blockAt.get(b)!)
  footer.copy(file, next)
  writeFileSync(o.childPath, file)
}
