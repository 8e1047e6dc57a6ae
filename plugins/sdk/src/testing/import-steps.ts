import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { isAbsolute } from 'node:path'
import type { DriverContext, UndoEntry } from '../context.js'
import type { DiskTarget } from '../destination.js'
import type { DiskDescriptor, TransferResult } from '../model.js'
import { writeContentFile } from './content.js'
import { copyDisk, type CopyResult } from './copy.js'
import { tempPath } from './disk-io.js'

/** Steps of an import shared by the destination and pipeline suites. */

/**
 * Writes a raw file into a disk target, the way the core would. Replace it (`writeDisk` option)
 * only when your destination needs a transport the core itself provides differently.
 */
export type WriteDisk = (target: DiskTarget, rawPath: string, disk: DiskDescriptor, ctx: DriverContext) => Promise<CopyResult | void>

/** `qemu-img convert` into file targets; raw bytes (converted first if needed) into streams. */
export const defaultWriteDisk: WriteDisk = (target, rawPath, disk, ctx) =>
  copyDisk({ kind: 'file', path: rawPath, format: 'raw', virtualSize: disk.virtualSize }, target, ctx.workDir, ctx.signal)

/** A raw file in the work dir with deterministic content the size of `disk`. */
export async function rawFixtureFor(disk: DiskDescriptor, ctx: DriverContext): Promise<string> {
  const path = tempPath(ctx.workDir, 'raw')
  await writeContentFile(path, `fixture:${disk.id}`, disk.virtualSize)
  return path
}

/** The TransferResult the core would hand to `commitDisk` after a copy. */
export function transferResult(disk: DiskDescriptor, target: DiskTarget, copy: CopyResult | void): TransferResult {
  return {
    diskId: disk.id,
    route: copy?.route ?? 'custom',
    virtualSize: disk.virtualSize,
    bytesWritten: copy?.bytesWritten ?? disk.virtualSize,
    format: target.format,
    ...(copy?.sha256 && target.format === 'raw' ? { sha256: copy.sha256 } : {}),
  }
}

/**
 * After a rollback nothing may remain: no file target, and no path named by an undo entry of
 * kind `file` (the SDK's documented convention for files the driver creates).
 */
export function checkNothingLeft(targets: readonly DiskTarget[], undo: readonly UndoEntry[]): void {
  const paths = [
    ...targets.flatMap((t) => (t.kind === 'file' ? [t.path] : [])),
    ...undo.flatMap((e) => (e.kind === 'file' && isAbsolute(e.ref) ? [e.ref] : [])),
  ]
  for (const path of paths) assert.ok(!existsSync(path), `rollback left ${path} behind`)
}
