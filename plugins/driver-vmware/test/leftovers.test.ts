import { describe, expect, it } from 'vitest'
import { silentLogger } from '@guts/sdk'
import { carriesMarks, releaseLeftovers, snapshotDescription, snapshotName, snapshotNodes } from '../src/export/leftovers.js'
import type { XmlArg, XmlValue } from '../src/client/xml.js'
import { fakeCaller, fault, mo, objects, thisOf } from './fake-caller.js'

const MARKS = { 'guts-migration': 'mig-1', 'guts-source-vm': 'vm-7' }

const node = (id: string, name: string, description: string, children: XmlValue[] = []): XmlValue => ({
  snapshot: mo('VirtualMachineSnapshot', id),
  vm: mo('VirtualMachine', 'vm-7'),
  name,
  description,
  ...(children.length ? { childSnapshotList: children } : {}),
})

/** A tree: a user's snapshot, under it ours of this migration and one of another migration; ours again at the root. */
const TREE: XmlValue = {
  currentSnapshot: mo('VirtualMachineSnapshot', 'snapshot-4'),
  rootSnapshotList: [
    node('snapshot-1', 'before upgrade', 'taken by the admin', [
      node('snapshot-2', 'guts-mig-1', snapshotDescription(MARKS)),
      node('snapshot-3', 'guts-mig-2', snapshotDescription({ ...MARKS, 'guts-migration': 'mig-2' })),
    ]),
    node('snapshot-4', 'guts-mig-1', snapshotDescription(MARKS)),
  ],
}

describe('export snapshot marks', () => {
  it('a description carries the marks as JSON; only all marks with equal values match', () => {
    const d = snapshotDescription(MARKS)
    expect(JSON.parse(d)).toMatchObject({ createdBy: 'guts', marks: MARKS })
    expect(carriesMarks(d, MARKS)).toBe(true)
    expect(carriesMarks(d, { 'guts-migration': 'mig-1' })).toBe(true)
    expect(carriesMarks(d, { ...MARKS, 'guts-migration': 'mig-2' })).toBe(false)
    expect(carriesMarks(d, { ...MARKS, other: 'x' })).toBe(false)
    expect(carriesMarks(d, {})).toBe(false) // no marks select nothing, not everything
    expect(carriesMarks('a user wrote {not json', MARKS)).toBe(false)
    expect(carriesMarks(undefined, MARKS)).toBe(false)
    expect(snapshotName(MARKS)).toBe('guts-mig-1')
    expect(snapshotName({ 'guts-migration': 'x'.repeat(100) }).length).toBe(80)
  })

  it('walks the whole snapshot tree', () => {
    expect(snapshotNodes(TREE).map((n) => n.snapshot.value)).toEqual(['snapshot-1', 'snapshot-2', 'snapshot-3', 'snapshot-4'])
    expect(snapshotNodes(undefined)).toEqual([])
  })

  it('releaseLeftovers removes only the snapshots with all marks, without their children, and counts them', async () => {
    const removed: string[] = []
    const c = fakeCaller((method: string, args: Record<string, XmlArg>) => {
      if (method === 'RetrievePropertiesEx') {
        const obj = (args.specSet as { objectSet: { obj: { type: string; value: string } }[] }).objectSet[0]!.obj
        return obj.type === 'Task' ? objects(obj, { 'info.state': 'success' }) : objects(obj, { snapshot: TREE })
      }
      if (method === 'RemoveSnapshot_Task') {
        expect(args).toMatchObject({ removeChildren: false, consolidate: true })
        // snapshot-4 vanished meanwhile (another process removed it): not counted, not an error.
        if (thisOf(args).value === 'snapshot-4') fault(method, 'ManagedObjectNotFound')
        removed.push(thisOf(args).value)
        return mo('Task', `task-${removed.length}`)
      }
      throw new Error(`unexpected ${method}`)
    })
    expect(await releaseLeftovers(c, 'vm-7', MARKS, silentLogger)).toBe(1)
    expect(removed).toEqual(['snapshot-2'])
    expect(c.methods().filter((m) => m === 'RemoveSnapshot_Task').length).toBe(2)
    expect(await releaseLeftovers(c, 'vm-7', {}, silentLogger)).toBe(0)
  })
})
