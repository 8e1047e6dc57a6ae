import type { Run } from './layer.js'

/**
 * Sector bitmaps of differencing disks: a bit per sector, 1 = this file holds the sector, 0 = the
 * parent does. VHDX numbers bits from the least significant (MS-VHDX 2.4.2: "bit 0 of byte 0 is
 * the first sector"); VHD from the most significant (VHD spec, "Block Bitmap": sector 0 is the
 * leftmost bit). `fileOffset` is where the first sector of the bitmap's block lies in the file.
 */
export function bitmapRuns(
  bitmap: Buffer,
  bitOrder: 'lsb' | 'msb',
  sectorSize: number,
  within: number,
  length: number,
  blockFileOffset: number,
): Run[] {
  const runs: Run[] = []
  const bit =
    bitOrder === 'lsb' ? (s: number) => (bitmap[s >>> 3]! >>> (s & 7)) & 1 : (s: number) => (bitmap[s >>> 3]! >>> (7 - (s & 7))) & 1
  const end = within + length
  const lastSector = Math.ceil(end / sectorSize)
  let s = Math.floor(within / sectorSize)
  while (s < lastSector) {
    const present = bit(s)
    const start = s
    s++
    while (s < lastSector) {
      // Whole bytes of the same value are the common case (a block written in large extents).
      if ((s & 7) === 0 && s + 8 <= lastSector && bitmap[s >>> 3] === (present ? 0xff : 0)) s += 8
      else if (bit(s) === present) s++
      else break
    }
    // Byte bounds of the run, clipped to the asked range (random reads need not be sector-aligned).
    const from = Math.max(within, start * sectorSize)
    const runLength = Math.min(end, s * sectorSize) - from
    runs.push(present ? { kind: 'data', length: runLength, fileOffset: blockFileOffset + from } : { kind: 'parent', length: runLength })
  }
  return runs
}

/**
 * A bounded cache of bitmaps by block, holding the promise so concurrent reads of one block share
 * one fetch. Bounded because a large differencing disk has a bitmap per block; streaming reads
 * blocks in order, so keeping the most recent few hundred is enough.
 */
export class BitmapCache {
  private readonly entries = new Map<number, Promise<Buffer>>()
  constructor(private readonly capacity = 512) {}

  get(block: number, load: () => Promise<Buffer>): Promise<Buffer> {
    let hit = this.entries.get(block)
    if (!hit) {
      const loading = load()
      // A failed fetch (an abort, a network error) must not stay cached for the next reader.
      loading.catch(() => {
        if (this.entries.get(block) === loading) this.entries.delete(block)
      })
      this.entries.set(block, loading)
      hit = loading
      if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!)
    }
    return hit
  }
}
