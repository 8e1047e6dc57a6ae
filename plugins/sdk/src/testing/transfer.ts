import type { DiskTarget } from '../destination.js'
import type { DiskDescriptor, TransferResult } from '../model.js'
import type { DiskSource } from '../source.js'

/** One disk to move: what the engine's transfer is given for each disk of a VM. */
export interface DiskTransferRequest {
  disk: DiskDescriptor
  /** What the source's `openDisk` returned. */
  source: DiskSource
  /** What the destination's `openDiskTarget` returned. */
  target: DiskTarget
  /** Scratch space for staging, owned by the caller. */
  workDir: string
  signal: AbortSignal
  /** Bytes of guest-visible content done so far. */
  onProgress?: (bytesDone: number, total: number) => void
}

/**
 * The signature of guts' disk transfer (route choice, qemu-img, stream copy with sha256 and zero
 * skipping). The suites move disks only through the one they are given, so a driver is certified
 * with the very code that will move its disks in guts: pass guts' own, `engineTransfer` from
 * `guts/testing`. The SDK keeps no copier of its own (it has no runtime dependencies and cannot
 * import the engine), so there is no second implementation to disagree with the engine.
 */
export type DiskTransfer = (request: DiskTransferRequest) => Promise<TransferResult>
