import { describe, expect, it } from 'vitest'
import { GutsError, silentLogger, type ExportOptions, type VmDescriptor } from '@guts/sdk'
import { beginSnapshotExport, endSnapshotExport, type SnapshotData } from '../src/export/snapshot.js'
import { snapshotDescription } from '../src/export/leftovers.js'
import type { Moref, XmlArg, XmlValue } from '../src/client/xml.js'
import { fakeCaller, fault, mo, objects, thisOf } from './fake-caller.js'

const MARKS = { 'guts-migration': 'mig-1', 'guts-source-vm': 'vm-7' }
const VM = { id: 'vm-7', name: 'app-01' } as VmDescriptor
const signal = new AbortController().signal

const DEVICES: XmlValue = {
  VirtualDevice: [
    { '@_xsi:type': 'ParaVirtualSCSIController', key: '1000', busNumber: '0' },
    {
      '@_xsi:type': 'VirtualDisk',
      key: '2000',
      controllerKey: '1000',
      unitNumber: '0',
      capacityInBytes: '16777216',
      backing: {
        '@_xsi:type': 'VirtualDiskFlatVer2BackingInfo',
        fileName: '[ds1] app-01/app-01.vmdk',
        diskMode: 'persistent',
        changeId: '52 aa/7',
      },
    },
  ],
}

type Step = 'ExportSnapshot' | 'lease' | 'datacenter' | 'quiesce'

/** A small vCenter: one VM in DC0/vm, an optional leftover snapshot, and one step that fails. */
function vcenter(o: { cbt?: boolean; failAt?: Step; leftover?: boolean } = {}) {
  let cbt = o.cbt ?? false
  const snapshots = new Set(o.leftover ? ['snapshot-1'] : [])
  const leases = new Map<string, string>()
  let tasks = 0
  const taskResult = new Map<string, XmlValue | undefined>()
  const task = (result?: XmlValue): XmlValue => {
    const id = `task-${++tasks}`
    taskResult.set(id, result)
    return mo('Task', id)
  }
  const tree = (): XmlValue => ({
    rootSnapshotList: [...snapshots].map((id) => ({
      snapshot: mo('VirtualMachineSnapshot', id),
      name: 'guts-mig-1',
      description: snapshotDescription(MARKS),
    })),
  })
  const c = fakeCaller((method: string, args: Record<string, XmlArg>) => {
    if (method === 'RetrievePropertiesEx') {
      const spec = args.specSet as { propSet: { pathSet: string[] }; objectSet: { obj: Moref }[] }
      const obj = spec.objectSet[0]!.obj
      const path = spec.propSet.pathSet
      if (obj.type === 'Task')
        return objects(obj, {
          'info.state': 'success',
          ...(taskResult.get(obj.value) ? { 'info.result': taskResult.get(obj.value)! } : {}),
        })
      if (obj.type === 'VirtualMachine' && path.includes('snapshot')) return objects(obj, snapshots.size ? { snapshot: tree() } : {})
      if (obj.type === 'VirtualMachine' && path.includes('config.changeTrackingEnabled'))
        return objects(obj, { 'config.changeTrackingEnabled': String(cbt) })
      if (obj.type === 'VirtualMachine') return objects(obj, { parent: mo('Folder', 'group-v3') })
      if (obj.type === 'VirtualMachineSnapshot') return objects(obj, { 'config.hardware.device': DEVICES })
      if (obj.type === 'HttpNfcLease' && o.failAt === 'lease')
        return objects(obj, { state: 'error', error: { fault: { '@_xsi:type': 'FileFault' }, localizedMessage: 'disk locked' } })
      if (obj.type === 'HttpNfcLease') {
        if (!leases.has(obj.value)) fault(method, 'ManagedObjectNotFound')
        return objects(obj, {
          state: leases.get(obj.value)!,
          info: {
            deviceUrl: {
              key: '/vm-7/ParaVirtualSCSIController0:0',
              url: 'https://*/nfc/52/disk-0.vmdk',
              disk: 'true',
              sslThumbprint: 'AA',
            },
          },
        })
      }
      if (obj.type === 'Folder' && obj.value === 'group-v3') return objects(obj, { name: 'vm', parent: mo('Datacenter', 'datacenter-2') })
      if (obj.type === 'Datacenter')
        return o.failAt === 'datacenter' ? fault(method, 'NoPermission') : objects(obj, { name: 'DC0', parent: mo('Folder', 'group-d1') })
      if (obj.type === 'Folder') return objects(obj, { name: 'Datacenters' })
    }
    if (method === 'ReconfigVM_Task') {
      cbt = (args.spec as { changeTrackingEnabled: boolean }).changeTrackingEnabled
      return task()
    }
    if (method === 'CreateSnapshot_Task') {
      if (o.failAt === 'quiesce') fault(method, 'ApplicationQuiesceFault', 'An error occurred while quiescing the virtual machine.')
      snapshots.add('snapshot-9')
      return task(mo('VirtualMachineSnapshot', 'snapshot-9'))
    }
    if (method === 'RemoveSnapshot_Task') {
      if (!snapshots.delete(thisOf(args).value)) fault(method, 'ManagedObjectNotFound')
      return task()
    }
    if (method === 'ExportSnapshot') {
      if (o.failAt === 'ExportSnapshot') fault(method, 'FileFault', 'Unable to access file [ds1] app-01/app-01.vmdk')
      leases.set('lease-5', 'ready')
      return mo('HttpNfcLease', 'lease-5')
    }
    if (method === 'HttpNfcLeaseAbort' || method === 'HttpNfcLeaseComplete') {
      leases.set(thisOf(args).value, method === 'HttpNfcLeaseAbort' ? 'error' : 'done')
      return undefined
    }
    if (method === 'HttpNfcLeaseProgress') return undefined
    throw new Error(`unexpected ${method}`)
  })
  return Object.assign(c, { transport: { endpoint: new URL('https://vc.example.com/sdk') }, snapshots, cbt: () => cbt, leases })
}

const options = (over: Partial<ExportOptions> = {}): ExportOptions => ({ mode: 'snapshot', powerOff: 'refuse', marks: MARKS, ...over })
const actions = (c: { methods: () => string[] }) => c.methods().filter((m) => m !== 'RetrievePropertiesEx')

describe('snapshot export', () => {
  it('releases leftovers, turns CBT on, takes a marked snapshot, exports it, and keeps plain JSON', async () => {
    const c = vcenter({ leftover: true })
    const { data, changeIds, stop } = await beginSnapshotExport(c, VM, options({ changeTracking: true }), silentLogger, signal)
    stop()
    expect(actions(c)).toEqual(['RemoveSnapshot_Task', 'ReconfigVM_Task', 'CreateSnapshot_Task', 'ExportSnapshot'])
    expect(c.cbt()).toBe(true)
    const create = c.calls.find(([m]) => m === 'CreateSnapshot_Task')![1]
    expect(create).toEqual({
      _this: { type: 'VirtualMachine', value: 'vm-7' },
      name: 'guts-mig-1',
      description: snapshotDescription(MARKS),
      memory: false,
      quiesce: false,
    })
    expect(data).toEqual({
      vm: 'vm-7',
      snapshot: 'snapshot-9',
      lease: 'lease-5',
      datacenter: 'DC0',
      disks: {
        '2000': {
          url: 'https://vc.example.com/nfc/52/disk-0.vmdk',
          thumbprint: 'AA',
          virtualSize: 16777216,
          deviceKey: 2000,
          fileName: '[ds1] app-01/app-01.vmdk',
          changeId: '52 aa/7',
        },
      },
    } satisfies SnapshotData)
    expect(JSON.parse(JSON.stringify(data))).toEqual(data)
    expect(changeIds).toEqual({ '2000': '52 aa/7' })
    expect([...c.snapshots]).toEqual(['snapshot-9'])
  })

  it('leaves CBT alone when it is on or not asked for, and gives change ids only when asked', async () => {
    const on = vcenter({ cbt: true })
    ;(await beginSnapshotExport(on, VM, options({ changeTracking: true }), silentLogger, signal)).stop()
    expect(actions(on)).toEqual(['CreateSnapshot_Task', 'ExportSnapshot'])
    const off = vcenter()
    const r = await beginSnapshotExport(off, VM, options(), silentLogger, signal)
    r.stop()
    expect(actions(off)).toEqual(['CreateSnapshot_Task', 'ExportSnapshot'])
    expect(off.cbt()).toBe(false)
    expect(r.changeIds).toBeUndefined()
  })

  it('quiesce: asks VMware Tools for an application-consistent snapshot; a failure says what to do', async () => {
    const c = vcenter()
    ;(await beginSnapshotExport(c, VM, options(), silentLogger, signal, { quiesce: true })).stop()
    expect(c.calls.find(([m]) => m === 'CreateSnapshot_Task')![1]).toMatchObject({ memory: false, quiesce: true })
    const bad = vcenter({ failAt: 'quiesce' })
    const error = (await beginSnapshotExport(bad, VM, options(), silentLogger, signal, { quiesce: true }).then(
      () => undefined,
      (e: unknown) => e,
    )) as GutsError
    expect(error.message).toMatch(
      /^app-01: the quiesced snapshot failed \(.*quiescing.*\)\. Quiescing needs VMware Tools running in the guest; set quiesce: false/,
    )
    expect([...bad.snapshots]).toEqual([])
  })

  for (const [step, calls] of [
    ['ExportSnapshot', ['CreateSnapshot_Task', 'ExportSnapshot', 'RemoveSnapshot_Task']],
    ['lease', ['CreateSnapshot_Task', 'ExportSnapshot', 'RemoveSnapshot_Task']], // a lease in error needs no abort
    ['datacenter', ['CreateSnapshot_Task', 'ExportSnapshot', 'HttpNfcLeaseAbort', 'RemoveSnapshot_Task']],
  ] as [Step, string[]][]) {
    it(`a failure at ${step} after the snapshot exists releases the lease and the snapshot, then rethrows`, async () => {
      const c = vcenter({ failAt: step })
      const error = await beginSnapshotExport(c, VM, options(), silentLogger, signal).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(GutsError)
      expect(actions(c)).toEqual(calls)
      expect([...c.snapshots]).toEqual([])
    })
  }

  it('endExport completes or aborts the lease and always removes the snapshot; twice is fine', async () => {
    for (const succeeded of [true, false]) {
      const c = vcenter()
      const { data, stop } = await beginSnapshotExport(c, VM, options(), silentLogger, signal)
      stop()
      await endSnapshotExport(c, data, succeeded)
      expect(c.leases.get('lease-5')).toBe(succeeded ? 'done' : 'error')
      expect([...c.snapshots]).toEqual([])
      await endSnapshotExport(c, data, succeeded)
      c.leases.clear() // the lease object is gone too (ManagedObjectNotFound)
      await endSnapshotExport(c, data, succeeded)
    }
  })

  it('a lease that cannot be released still has its snapshot removed, and the lease error is reported', async () => {
    const c = vcenter()
    const { data, stop } = await beginSnapshotExport(c, VM, options(), silentLogger, signal)
    stop()
    const broken = Object.assign(Object.create(c) as typeof c, {
      call: (method: string, args: Record<string, XmlArg>) =>
        method === 'HttpNfcLeaseComplete' ? Promise.reject(new GutsError('GUTS_UNREACHABLE', 'connection reset')) : c.call(method, args),
    })
    await expect(endSnapshotExport(broken, data, true)).rejects.toMatchObject({ code: 'GUTS_UNREACHABLE' })
    expect([...c.snapshots]).toEqual([])
  })
})
