import { GutsError, throwIfAborted, type Extent } from '@guts/sdk'
import { faultNameOf } from '../client/faults.js'
import type { Caller } from '../client/property-collector.js'
import { arr, at, num, type Moref } from '../client/xml.js'

export interface ChangedQuery {
  vm: Moref
  snapshot: Moref
  deviceKey: number
  /** The disk's size in bytes: the query walks `[0, capacity)`. */
  capacity: number
  /** A change id from an earlier snapshot of this disk, or `*` for every allocated area. */
  since: string
  /** For messages. */
  what: string
  signal?: AbortSignal
}

/**
 * QueryChangedDiskAreas over the whole disk. vSphere answers one window per call
 * (`DiskChangeInfo.startOffset + length`, often much less than the disk on large disks), so the
 * query is repeated from the end of each window until the capacity. Areas are yielded sorted and
 * merged (adjacent or overlapping ones become one), clipped to the disk.
 */
export async function* changedAreas(caller: Caller, q: ChangedQuery): AsyncGenerator<Extent> {
  let pending: Extent | undefined
  for (let start = 0; start < q.capacity;) {
    throwIfAborted(q.signal)
    const info = await query(caller, q, start)
    const windowStart = num(info, 'startOffset') ?? start
    const windowLength = num(info, 'length') ?? 0
    const areas = arr(at(info, 'changedArea'))
      .map((a) => ({ offset: num(a, 'start') ?? -1, length: num(a, 'length') ?? 0 }))
      .filter((a) => a.offset >= 0 && a.length > 0)
      .sort((a, b) => a.offset - b.offset)
    for (const a of areas) {
      const offset = Math.max(a.offset, 0)
      const end = Math.min(a.offset + a.length, q.capacity)
      if (end <= offset) continue
      if (pending && offset <= pending.offset + pending.length) {
        pending = { offset: pending.offset, length: Math.max(pending.offset + pending.length, end) - pending.offset }
      } else {
        if (pending) yield pending
        pending = { offset, length: end - offset }
      }
    }
    const next = windowStart + windowLength
    // A window that does not move forward would loop for ever: the server is broken.
    if (next <= start)
      throw new GutsError('GUTS_DRIVER_ERROR', `vSphere QueryChangedDiskAreas of ${q.what} returned an empty window at offset ${start}.`)
    start = next
  }
  if (pending) yield pending
}

async function query(caller: Caller, q: ChangedQuery, startOffset: number) {
  try {
    return await caller.call(
      'QueryChangedDiskAreas',
      { _this: q.vm, snapshot: q.snapshot, deviceKey: q.deviceKey, startOffset, changeId: q.since },
      q.signal,
    )
  } catch (error) {
    const fault = faultNameOf(error)
    if (q.since !== '*' && (fault === 'FileFault' || (fault === 'InvalidArgument' && /changeId/i.test((error as Error).message)))) {
      throw new GutsError(
        'GUTS_CONFLICT',
        `Change tracking of ${q.what} was reset since change id "${q.since}" (vSphere no longer knows it: CBT was turned off and on, the disk was moved, or the VM restored): a new full sync is needed.`,
        {
          cause: error,
          details: { vmware: { fault, method: 'QueryChangedDiskAreas' }, changeTrackingReset: true },
          suggestions: ['Start the migration again so that it copies the whole disk once more.'],
        },
      )
    }
    throw error
  }
}
