import { win32 } from 'node:path'
import type { ParentLocator } from './layer.js'
import { isVhdxFile } from './open-layer.js'
import type { RandomAccessFile } from './random-access.js'
import { DISK_DIFFERENCING, readVhdDynamicHeader, readVhdFooter, readVhdParentLocator } from './vhd-format.js'
import { readVhdxHeaderSection } from './vhdx-header.js'
import { readVhdxMetadata } from './vhdx-metadata.js'

/**
 * Where a differencing disk says its parent is, without reading its allocation table; undefined
 * for a disk that has no parent. A VHDX whose log is not empty (a running VM's leaf) is read as
 * its headers stand: pending log entries change the locator only when the disk is re-parented.
 */
export async function readParentLocator(file: RandomAccessFile, signal?: AbortSignal): Promise<ParentLocator | undefined> {
  if (await isVhdxFile(file, signal)) {
    const section = await readVhdxHeaderSection(file, signal, true)
    const meta = await readVhdxMetadata(file, section.metadata, signal)
    return meta.hasParent ? meta.parentLocator : undefined
  }
  const footer = await readVhdFooter(file, signal)
  if (footer.diskType !== DISK_DIFFERENCING || footer.dataOffset === undefined) return undefined
  return readVhdParentLocator(file, await readVhdDynamicHeader(file, footer.dataOffset, signal), signal)
}

/**
 * The Windows paths to try for the parent of `childPath`, in the locator's order (MS-VHDX
 * 2.6.2.6.3: relative, volume, absolute), relative ones resolved against the child's folder and
 * `\\?\` prefixes dropped (`\\?\D:\x` → `D:\x`, `\\?\UNC\srv\share` → `\\srv\share`). Duplicates
 * are listed once.
 */
export function parentPathCandidates(childPath: string, locator: ParentLocator): string[] {
  const out: string[] = []
  for (const { kind, path } of locator.paths) {
    const candidate = kind === 'relative' ? win32.normalize(win32.join(win32.dirname(childPath), path)) : stripLongPathPrefix(path)
    if (!out.some((p) => p.toLowerCase() === candidate.toLowerCase())) out.push(candidate)
  }
  return out
}

function stripLongPathPrefix(path: string): string {
  if (/^\\\\\?\\UNC\\/i.test(path)) return `\\\\${path.slice(8)}`
  if (/^\\\\\?\\[A-Za-z]:\\/.test(path)) return path.slice(4)
  return path
}
