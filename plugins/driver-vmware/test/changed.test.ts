import { describe, expect, it } from 'vitest'
import type { Extent } from '@guts/sdk'
import { changedAreas, type ChangedQuery } from '../src/export/changed.js'
import type { XmlArg, XmlValue } from '../src/client/xml.js'
import { fakeCaller, fault } from './fake-caller.js'

const MiB = 1 << 20
const KiB64 = 64 * 1024

const q = (over: Partial<ChangedQuery> = {}): ChangedQuery => ({
  vm: { type: 'VirtualMachine', value: 'vm-7' },
  snapshot: { type: 'VirtualMachineSnapshot', value: 'snapshot-9' },
  deviceKey: 2000,
  capacity: 10 * MiB,
  since: '52 aa/3',
  what: 'app disk 2000',
  ...over,
})

/** A DiskChangeInfo as parsed from XML: all values are strings. */
const info = (startOffset: number, length: number, areas: [number, number][]): XmlValue => ({
  startOffset: String(startOffset),
  length: String(length),
  changedArea: areas.map(([start, len]) => ({ start: String(start), length: String(len) })),
})

async function all(it: AsyncIterable<Extent>): Promise<Extent[]> {
  const out: Extent[] = []
  for await (const e of it) out.push(e)
  return out
}

describe('changedExtents (QueryChangedDiskAreas)', () => {
  it('queries window after window until the capacity, merging areas across windows', async () => {
    // vCenter answers at most a window per call (here 4 MiB) and the caller continues at its end.
    const windows: Record<number, XmlValue> = {
      0: info(0, 4 * MiB, [
        [3 * MiB, MiB],
        [0, KiB64],
      ]), // unsorted within a window
      [4 * MiB]: info(4 * MiB, 4 * MiB, [
        [4 * MiB, KiB64],
        [6 * MiB, KiB64],
        [6 * MiB + 32 * 1024, KiB64],
      ]), // adjacent to the last + overlapping
      [8 * MiB]: info(8 * MiB, 2 * MiB, [[10 * MiB - KiB64, 2 * KiB64]]), // runs past the disk end
    }
    const c = fakeCaller((method: string, args: Record<string, XmlArg>) => {
      expect(method).toBe('QueryChangedDiskAreas')
      return windows[args.startOffset as number]
    })
    expect(await all(changedAreas(c, q()))).toEqual([
      { offset: 0, length: KiB64 },
      { offset: 3 * MiB, length: MiB + KiB64 },
      { offset: 6 * MiB, length: KiB64 + 32 * 1024 },
      { offset: 10 * MiB - KiB64, length: KiB64 },
    ])
    expect(c.calls.map(([, a]) => a.startOffset)).toEqual([0, 4 * MiB, 8 * MiB])
    const [, first] = c.calls[0]!
    expect(first).toEqual({ _this: q().vm, snapshot: q().snapshot, deviceKey: 2000, startOffset: 0, changeId: '52 aa/3' })
  })

  it('one answer for the whole disk (what vcsimx does) is one call', async () => {
    const c = fakeCaller(() => info(0, 10 * MiB, [[MiB, KiB64]]))
    expect(await all(changedAreas(c, q({ since: '*' })))).toEqual([{ offset: MiB, length: KiB64 }])
    expect(c.calls.length).toBe(1)
  })

  it('no changes yields nothing', async () => {
    const c = fakeCaller(() => info(0, 10 * MiB, []))
    expect(await all(changedAreas(c, q()))).toEqual([])
  })

  it('a window that does not advance is an error, not an endless loop', async () => {
    const c = fakeCaller(() => info(0, 0, []))
    await expect(all(changedAreas(c, q()))).rejects.toMatchObject({
      code: 'GUTS_DRIVER_ERROR',
      message: expect.stringMatching(/empty window/),
    })
  })

  it('an unknown (reset) change id says a new full sync is needed', async () => {
    const c = fakeCaller(() => fault('QueryChangedDiskAreas', 'FileFault', 'Error caused by file /vmfs/volumes/ds/app/app.vmdk'))
    await expect(all(changedAreas(c, q()))).rejects.toMatchObject({
      code: 'GUTS_CONFLICT',
      message: expect.stringMatching(/Change tracking of app disk 2000 was reset .*new full sync is needed/),
      details: { changeTrackingReset: true, vmware: { fault: 'FileFault' } },
    })
    const bad = fakeCaller(() => fault('QueryChangedDiskAreas', 'InvalidArgument', 'A specified parameter was not correct: changeId'))
    await expect(all(changedAreas(bad, q()))).rejects.toMatchObject({ details: { changeTrackingReset: true } })
  })

  it('other faults pass through unchanged', async () => {
    const c = fakeCaller(() => fault('QueryChangedDiskAreas', 'ManagedObjectNotFound'))
    await expect(all(changedAreas(c, q()))).rejects.toMatchObject({ code: 'GUTS_NOT_FOUND' })
    // With `*` there is no old change id to be unknown: a FileFault is CBT off, not a reset.
    const off = fakeCaller(() => fault('QueryChangedDiskAreas', 'FileFault', 'Change tracking is not enabled'))
    await expect(all(changedAreas(off, q({ since: '*' })))).rejects.toMatchObject({
      code: 'GUTS_DRIVER_ERROR',
      details: { vmware: { fault: 'FileFault' } },
    })
  })
})
