import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import type { DriverContext, Finding } from '@guts/sdk'
import { qemuImgCompare } from '../../tools/qemu-img.js'
import type { VmCheckpoint } from './vm-job.js'
import type { VmDrivers } from './vm-drivers.js'

/**
 * The core's own content check, on top of the destination's `verify`: every disk that landed in a
 * file is compared with its source by `qemu-img compare` (guest-visible content, any formats).
 * Stream targets are covered by the sha256 computed while streaming and the driver's own checks.
 */
export async function compareDisks(cp: VmCheckpoint, drivers: VmDrivers, ctx: DriverContext): Promise<Finding[]> {
  const findings: Finding[] = []
  for (const disk of cp.descriptor!.disks) {
    const saved = cp.disks?.[disk.id]
    if (!saved?.target) continue
    const source = await drivers.source.openDisk(cp.exportSession!, disk.id, ctx)
    try {
      if (source.kind !== 'file' && source.kind !== 'nbd') {
        // A streamed source cannot be re-read cheaply: check the target against the hash taken in flight.
        if (saved.sha256 && saved.target.format === 'raw')
          findings.push(await hashFinding(disk.id, saved.target.path, saved.sha256, ctx.signal))
        continue
      }
      const address = source.kind === 'file' ? source.path : source.uri
      // qemu-img compare reads both sizes first and reports a mismatch itself: no info call of our own.
      const r = await qemuImgCompare(
        { path: address, format: source.format },
        { path: saved.target.path, format: saved.target.format },
        ctx.signal,
      )
      findings.push(
        r.same
          ? {
              severity: 'info',
              code: 'disk-content-equal',
              message: `${disk.id}: destination content equals the source (qemu-img compare)`,
              ref: disk.id,
            }
          : {
              severity: 'error',
              code: 'disk-content-differs',
              message: `${disk.id}: destination content differs from the source: ${r.detail}`,
              ref: disk.id,
            },
      )
    } finally {
      await source.close?.()
    }
  }
  return findings
}

async function hashFinding(diskId: string, path: string, expected: string, signal: AbortSignal): Promise<Finding> {
  const hash = createHash('sha256')
  await pipeline(createReadStream(path, { highWaterMark: 1024 * 1024 }), hash, { signal })
  const actual = hash.digest('hex')
  return actual === expected
    ? {
        severity: 'info',
        code: 'disk-content-equal',
        message: `${diskId}: destination sha256 equals the one taken while streaming`,
        ref: diskId,
      }
    : {
        severity: 'error',
        code: 'disk-content-differs',
        message: `${diskId}: destination sha256 ${actual} differs from the source's ${expected}`,
        ref: diskId,
      }
}
