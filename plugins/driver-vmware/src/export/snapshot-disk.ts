import type { DiskSource, Logger } from '@guts/sdk'
import type { VimSession } from '../client/session.js'
import { leaseDiskSource } from './cold.js'
import { folderUrl, parseDatastorePath, rangeReader, readDescriptor } from './datastore-http.js'
import type { SnapshotData } from './snapshot.js'

/**
 * A disk of a snapshot export: the NFC stream (streamOptimized decoded to raw, as in a cold
 * export), plus `readRange` when the frozen disk is a flat file with no parent, read through
 * datastore HTTP with Range requests. That is the case when the VM had no snapshot before ours
 * (on ESXi the snapshot freezes the base disk; vcsimx freezes a flat copy). When the frozen disk
 * is a sparse delta, or its descriptor cannot be read, there is no readRange and the core reads
 * the whole stream instead (slower delta syncs, same result).
 */
export async function snapshotDiskSource(
  session: VimSession,
  data: SnapshotData,
  diskId: string,
  vmName: string,
  log: Logger,
  signal: AbortSignal,
): Promise<DiskSource> {
  const stream = leaseDiskSource(session, data, diskId, vmName)
  const disk = data.disks[diskId]!
  const what = `${vmName} disk ${diskId}`
  const file = disk.fileName ? parseDatastorePath(disk.fileName) : undefined
  if (!file) {
    log.info(`${what}: no random access (no datastore path for the snapshot disk)`)
    return stream
  }
  let descriptor
  try {
    descriptor = await readDescriptor(session.transport, folderUrl(session.transport.endpoint, file, data.datacenter), signal)
  } catch (error) {
    if (signal.aborted) throw error
    log.warn(`${what}: no random access, its descriptor could not be read: ${(error as Error).message}`)
    return stream
  }
  const access = rangeReader(
    { transport: session.transport, descriptor: file, dcPath: data.datacenter, size: disk.virtualSize, what },
    descriptor,
  )
  if ('reason' in access) {
    log.info(`${what}: no random access: ${access.reason}`)
    return stream
  }
  return { ...stream, readRange: access.readRange }
}
