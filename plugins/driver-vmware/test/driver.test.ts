import { afterAll, describe, expect, it } from 'vitest'
import type { Extent, ExportSession } from '@guts/sdk'
import { createTestContext } from '@guts/sdk/testing'
import vmware from '../src/index.js'
import { VMWARE_CAPABILITIES, VmwareSource } from '../src/testing.js'

const ctx = createTestContext()
afterAll(() => ctx.cleanup())

/** A snapshot session as beginExport saves it; no server is needed for what is tested here. */
const session = (disk: Record<string, unknown>): ExportSession => ({
  vm: { id: 'vm-7', name: 'app-01' },
  mode: 'snapshot',
  data: {
    vm: 'vm-7',
    snapshot: 'snapshot-9',
    lease: 'lease-5',
    datacenter: 'DC0',
    disks: { '2000': { url: 'https://h/nfc/disk-0.vmdk', virtualSize: 4096, deviceKey: 2000, ...disk } },
  } as never,
})

async function all(it: AsyncIterable<Extent>): Promise<Extent[]> {
  const out: Extent[] = []
  for await (const e of it) out.push(e)
  return out
}

describe('VmwareSource', () => {
  it('declares live export, changed blocks and power control, the same on the module and the instance', () => {
    expect(VMWARE_CAPABILITIES).toMatchObject({ liveExport: true, changedBlocks: true, powerControl: true, diskAccess: ['stream'] })
    expect(vmware.capabilities).toEqual(new VmwareSource({}).capabilities)
    const d = new VmwareSource({})
    expect([typeof d.powerOff, typeof d.changedExtents, typeof d.releaseLeftovers]).toEqual(['function', 'function', 'function'])
  })

  it('a disk whose snapshot has no change id (CBT was off): * is the whole disk, a real change id needs a full sync', async () => {
    const d = new VmwareSource({})
    expect(await all(d.changedExtents(session({}), '2000', '*', ctx))).toEqual([{ offset: 0, length: 4096 }])
    await expect(all(d.changedExtents(session({}), '2000', '52 aa/3', ctx))).rejects.toMatchObject({
      code: 'GUTS_CONFLICT',
      details: { changeTrackingReset: true },
      message: expect.stringMatching(/app-01 disk 2000.*full sync/),
    })
    await expect(all(d.changedExtents(session({}), '2001', '*', ctx))).rejects.toMatchObject({ code: 'GUTS_NOT_FOUND' })
  })

  it('changed blocks need a snapshot session; a session of another kind is a state error', async () => {
    const d = new VmwareSource({})
    const cold: ExportSession = { vm: { id: 'vm-7', name: 'app-01' }, mode: 'cold', data: { lease: 'lease-1', disks: {} } }
    await expect(all(d.changedExtents(cold, '2000', '*', ctx))).rejects.toMatchObject({ code: 'GUTS_UNSUPPORTED' })
    const broken: ExportSession = { ...cold, mode: 'snapshot' }
    await expect(all(d.changedExtents(broken, '2000', '*', ctx))).rejects.toMatchObject({ code: 'GUTS_STATE_ERROR' })
  })
})
