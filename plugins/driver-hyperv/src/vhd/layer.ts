import type { RandomAccessFile } from './random-access.js'

export type DiskFormat = 'vhdx' | 'vpc'
export type DiskFileType = 'fixed' | 'dynamic' | 'differencing'

/** Where a differencing disk says its parent is (see parent-locator.ts). */
export interface ParentLocator {
  format: DiskFormat
  /**
   * The identities the parent may have, normalised `{…}` lowercase GUIDs: VHDX `parent_linkage`
   * and, if present, `parent_linkage2` (the parent's DataWriteGuid); VHD the Parent Unique ID
   * (the parent footer's Unique Id).
   */
  linkage: string[]
  /** Paths to try, in the order the format says to try them (VHDX: relative, volume, absolute). */
  paths: { kind: 'relative' | 'volume' | 'absolute'; path: string }[]
  /** Every entry as stored: VHDX key → value; VHD platform code (`W2ru`, `W2ku`, …) → path. */
  entries: Record<string, string>
}

/** One file of a chain, as openDisk reports it. */
export interface DiskFileInfo {
  name: string
  format: DiskFormat
  type: DiskFileType
  virtualSize: number
  /** Allocation unit: VHDX BlockSize, VHD dynamic block size (a fixed VHD reports 2 MiB, the unit of its extents). */
  blockSize: number
  logicalSectorSize: number
  physicalSectorSize: number
  /** What a child links to: VHDX current header DataWriteGuid, VHD footer Unique Id. */
  identity: string
  /** Set for differencing disks. */
  parentLocator?: ParentLocator
}

/** How one block of one file answers for a virtual byte range. */
export type Run =
  { kind: 'data'; length: number; fileOffset: number } | { kind: 'zero'; length: number } | { kind: 'parent'; length: number }

/** Block-granular state from the allocation table alone (no sector bitmap read). */
export type BlockClass = 'data' | 'zero' | 'parent'

/** One opened file of a chain: its allocation table, and how to map virtual bytes to file bytes. */
export interface DiskLayer {
  readonly file: RandomAccessFile
  readonly info: DiskFileInfo
  readonly blockCount: number
  /** `data` for blocks that hold (some) payload in this file, `parent` for blocks the parent answers. */
  blockClass(index: number): BlockClass
  /**
   * The runs answering `length` bytes at `within` bytes into block `index` (the caller never
   * crosses a block boundary). Synchronous unless a sector bitmap has to be read.
   */
  mapInBlock(index: number, within: number, length: number, signal?: AbortSignal): Run[] | Promise<Run[]>
}
