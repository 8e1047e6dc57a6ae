/**
 * Hyper-V virtual disks (VHDX, VHD, and their differencing chains) read as raw disk content
 * through a random-access file, reading only allocated blocks and no staging copy.
 */
export type { RandomAccessFile } from './random-access.js'
export type { DiskFileInfo, DiskFileType, DiskFormat, ParentLocator } from './layer.js'
export type { Extent, VirtualDisk } from './disk.js'
export { openDisk } from './chain.js'
export { rawStream, type RawStreamOptions } from './raw-stream.js'
export { parentPathCandidates, readParentLocator } from './parent-locator.js'
