import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { deflateSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { StreamVmdkParser, vmdkToRaw } from '../src/export/vmdk-stream.js'

const SECTOR = 512

/** A minimal streamOptimized VMDK: header, a descriptor sector, grains, one GT marker, EOS. */
function buildVmdk(capacitySectors: number, grains: [lba: number, data: Buffer][]): Buffer {
  const h = Buffer.alloc(SECTOR)
  h.writeUInt32LE(0x564d444b, 0)
  h.writeUInt32LE(3, 4)
  h.writeUInt32LE(0x30001, 8)
  h.writeBigUInt64LE(BigInt(capacitySectors), 12)
  h.writeBigUInt64LE(128n, 20)
  h.writeBigUInt64LE(1n, 28)
  h.writeBigUInt64LE(1n, 36)
  h.writeUInt32LE(512, 44)
  h.writeBigUInt64LE(0xffffffffffffffffn, 56)
  h.writeBigUInt64LE(2n, 64) // header + descriptor
  h.write('\n \r\n', 73, 'latin1')
  h.writeUInt16LE(1, 77)
  const desc = Buffer.alloc(SECTOR)
  desc.write('# Disk DescriptorFile\ncreateType="streamOptimized"\n')
  const parts = [h, desc]
  for (const [lba, data] of grains) {
    const z = deflateSync(data)
    const m = Buffer.alloc(Math.ceil((12 + z.length) / SECTOR) * SECTOR)
    m.writeBigUInt64LE(BigInt(lba), 0)
    m.writeUInt32LE(z.length, 8)
    z.copy(m, 12)
    parts.push(m)
  }
  const gt = Buffer.alloc(SECTOR * 2) // a GT marker with one sector of table: skipped
  gt.writeBigUInt64LE(1n, 0)
  gt.writeUInt32LE(1, 12)
  gt.fill(0xee, SECTOR)
  parts.push(gt, Buffer.alloc(SECTOR)) // EOS
  return Buffer.concat(parts)
}

async function decode(vmdk: Buffer, chunk = 4096): Promise<Buffer> {
  const chunks: Buffer[] = []
  for (let i = 0; i < vmdk.length; i += chunk) chunks.push(vmdk.subarray(i, i + chunk))
  const out: Buffer[] = []
  for await (const c of vmdkToRaw(Readable.from(chunks))) out.push(c as Buffer)
  return Buffer.concat(out)
}

const GRAIN = 128 * SECTOR

describe('streamOptimized VMDK → raw', () => {
  const a = randomBytes(GRAIN)
  const b = randomBytes(GRAIN)
  const capacity = 10 * 128 - 64 // 9.5 grains: the last grain is cut at the capacity
  const vmdk = buildVmdk(capacity, [
    [128, a],
    [3 * 128, b],
    [9 * 128, Buffer.concat([b.subarray(0, GRAIN / 2), Buffer.alloc(GRAIN / 2, 7)])],
  ])
  const want = Buffer.alloc(capacity * SECTOR)
  a.copy(want, 128 * SECTOR)
  b.copy(want, 3 * 128 * SECTOR)
  b.copy(want, 9 * 128 * SECTOR, 0, GRAIN / 2)

  it('fills holes with zeros and ends exactly at the capacity, whatever the chunking', async () => {
    for (const chunk of [1 << 20, 4096, 511, 13]) {
      const raw = await decode(vmdk, chunk)
      expect(raw.length).toBe(capacity * SECTOR)
      expect(raw.equals(want)).toBe(true)
    }
  })

  it('reports the header size and the grain bytes', () => {
    const p = new StreamVmdkParser()
    for (const _ of p.feed(vmdk)) void _
    expect(p.virtualSize).toBe(capacity * SECTOR)
    expect(p.done).toBe(true)
    expect(p.dataBytes).toBe(2 * GRAIN + GRAIN / 2)
  })

  it('a cut-short download is an error, not a short disk', async () => {
    await expect(decode(vmdk.subarray(0, vmdk.length - 2 * SECTOR - 100))).rejects.toThrow(/end-of-stream marker/)
    await expect(decode(Buffer.alloc(100))).rejects.toThrow(/before the VMDK header/)
  })

  it('refuses what it cannot read sequentially', async () => {
    await expect(decode(Buffer.alloc(SECTOR))).rejects.toThrow(/no KDMV magic/)
    const outOfOrder = buildVmdk(1024, [
      [256, a],
      [128, b],
    ])
    await expect(decode(outOfOrder)).rejects.toThrow(/out of order/)
  })

  it.skipIf(!existsSync('/usr/bin/qemu-img'))('decodes what qemu-img writes, byte for byte', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'guts-vmdk-'))
    try {
      const raw = Buffer.alloc(8 << 20)
      randomBytes(1 << 20).copy(raw, 1 << 20)
      randomBytes(12345).copy(raw, (6 << 20) + 777)
      writeFileSync(join(dir, 'in.raw'), raw)
      execFileSync('qemu-img', [
        'convert',
        '-f',
        'raw',
        '-O',
        'vmdk',
        '-o',
        'subformat=streamOptimized',
        join(dir, 'in.raw'),
        join(dir, 'out.vmdk'),
      ])
      const got = await decode(readFileSync(join(dir, 'out.vmdk')), 65536)
      expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(raw).digest('hex'))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
