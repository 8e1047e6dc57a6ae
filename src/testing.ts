/**
 * `guts/testing`: what driver authors need from the engine to certify a driver with the SDK's
 * suites. `engineTransfer` is guts' own disk transfer; pass it as `transfer` to `pipelineSuite`
 * and `destinationDriverSuite` from `@guts/sdk/testing`, so the disks move exactly as in guts.
 *
 * ```ts
 * import { pipelineSuite } from '@guts/sdk/testing'
 * import { engineTransfer } from 'guts/testing'
 * await pipelineSuite({ test, source, destination, transfer: engineTransfer })
 * ```
 */
import type { DiskTransfer } from '@guts/sdk/testing'
import { transferDisk } from './core/transfer/transfer-disk.js'

export const engineTransfer: DiskTransfer = transferDisk
