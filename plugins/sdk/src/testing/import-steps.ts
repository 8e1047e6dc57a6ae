import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { isAbsolute } from 'node:path'
import type { DriverContext, UndoEntry } from '../context.js'
import type { DiskTarget } from '../destination.js'
import type { DiskDescriptor, TransferResult } from '../model.js'
import { writeContentFile } from './content.js'
import { tempPath } from './disk-io.js'
import type { DiskTransfer } from './transfer.js'

/** Steps of an import shared by the destination and pipeline suites. */

/**
 * Writes a raw file into a disk target. The suites use the engine's transfer ({@link writeWith});
 * replace it (`writeDisk` option) only when your destination needs a transport the core itself
 * provides differently. Without a result, {@link transferResult} describes the write as `custom`.
 */
export type WriteDisk = (target: DiskTarget, rawPath: string, disk: DiskDescriptor, ctx: DriverContext) => Promise<TransferResult | void>

/** A raw fixture file moved into the target by `transfer`, exactly as the engine would move a raw source disk. */
export function writeWith(transfer: DiskTransfer): WriteDisk {
  return (target, rawPath, disk, ctx) =>
    transfer({
      disk,
      source: { kind: 'file', path: rawPath, format: 'raw', virtualSize: disk.virtualSize },
      target,
      workDir: ctx.workDir,
      signal: ctx.signal,
    })
}

/** A raw file in the work dir with deterministic content the size of `disk`. */
export async function rawFixtureFor(disk: DiskDescriptor, ctx: DriverContext): Promise<string> {
  const path = tempPath(ctx.workDir, 'raw')
  await writeContentFile(path, `fixture:${disk.id}`, disk.virtualSize)
  return path
}

/** What `commitDisk` is given: the transfer's own result, or for a custom write one like it. */
export function transferResult(disk: DiskDescriptor, target: DiskTarget, written: TransferResult | void): TransferResult {
  return (
    written ?? { diskId: disk.id, route: 'custom', virtualSize: disk.virtualSize, bytesWritten: disk.virtualSize, format: target.format }
  )
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
