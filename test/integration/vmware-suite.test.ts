import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHash } from 'node:crypto'
import vmware from '@guts/driver-vmware'
import { resolveConfig, runTask, VimSession, type VmwareSource } from '@guts/driver-vmware/testing'
import { sourceDriverSuite } from '@guts/sdk/testing'
import { ctx, labAvailable, readLab } from './vmware-lab.js'

/**
 * The SDK's source conformance suite against vcsimx, on a VM this file powers off for the cold
 * export (and powers on again afterwards), plus a content check of the exported disk.
 */
if (labAvailable()) {
  const lab = readLab()
  const options = { url: lab.url, username: lab.username, password: lab.password, thumbprint: lab.thumbprint }
  const NAME = 'DC0_C0_RP0_VM1'
  const session = new VimSession(resolveConfig(options, {}))
  const probe = vmware.create(options) as VmwareSource
  let id = ''
  for await (const v of probe.listVms({ name: NAME }, ctx())) id = v.id
  await probe.dispose()
  const ref = { type: 'VirtualMachine', value: id }
  const power = async (on: boolean): Promise<void> => {
    await runTask(session, on ? 'PowerOnVM_Task' : 'PowerOffVM_Task', { _this: ref }).catch((e: { code?: string }) => {
      if (e.code !== 'GUTS_CONFLICT') throw e // already in that state
    })
  }

  // Off for the whole file (the suite's export checks too), on again after the last test.
  await power(false)
  afterAll(async () => {
    await power(true)
    await session.close()
  })

  describe('vmware cold export', () => {
    it('streams the disk as raw, byte-exact with the flat file on the datastore', async () => {
      const driver = vmware.create(options) as VmwareSource
      const c = ctx()
      const vm = await driver.describeVm({ id, name: NAME }, c)
      const s = await driver.beginExport(vm, { mode: 'cold', powerOff: 'refuse' }, c)
      try {
        const src = await driver.openDisk(s, vm.disks[0]!.id, c)
        const hash = createHash('sha256')
        let bytes = 0
        if (src.kind !== 'stream') throw new Error('expected a stream')
        for await (const chunk of await src.open(c.signal)) {
          hash.update(chunk as Buffer)
          bytes += (chunk as Buffer).length
        }
        if (bytes !== vm.disks[0]!.virtualSize) throw new Error(`got ${bytes} bytes, want ${vm.disks[0]!.virtualSize}`)
        // The same disk's flat file through the datastore browser (/folder): the raw truth.
        const file = /^\[(.+?)\] (.+)\.vmdk$/.exec((vm.extra!.disks as { fileName: string }[])[0]!.fileName)!
        const flat = await session.transport.get(
          `${lab.url.replace(/\/sdk$/, '')}/folder/${file[2]}-flat.vmdk?dcPath=DC0&dsName=${encodeURIComponent(file[1]!)}`,
          c.signal,
        )
        const truth = Buffer.from(await flat.arrayBuffer())
        expect(flat.status).toBe(200)
        expect(truth.length).toBe(bytes)
        expect(hash.digest('hex')).toBe(createHash('sha256').update(truth).digest('hex'))
        expect(truth.equals(Buffer.alloc(bytes))).toBe(false) // vcsimx -disk-mb writes non-zero data
      } finally {
        await driver.endExport(s, 'succeeded', c)
        await driver.endExport(s, 'succeeded', c) // idempotent
        await driver.dispose()
      }
    })

    it('a lease aborted mid-export gives a clear error, and endExport stays idempotent', async () => {
      const driver = vmware.create(options) as VmwareSource
      const c = ctx()
      const vm = await driver.describeVm({ id, name: NAME }, c)
      const s = await driver.beginExport(vm, { mode: 'cold', powerOff: 'refuse' }, c)
      const src = await driver.openDisk(JSON.parse(JSON.stringify(s)), vm.disks[0]!.id, c)
      await driver.endExport(s, 'failed', c) // HttpNfcLeaseAbort
      if (src.kind !== 'stream') throw new Error('expected a stream')
      await expect(
        (async () => {
          for await (const _ of await src.open(c.signal)) void _
        })(),
      ).rejects.toMatchObject({ code: expect.stringMatching(/^GUTS_(NOT_FOUND|DRIVER_ERROR|AUTH_FAILED)$/) })
      await driver.endExport(s, 'succeeded', c)
      await driver.dispose()
    })
  })

  await sourceDriverSuite({
    test: { describe, it, beforeAll, afterAll },
    factory: () => vmware.create(options),
    fixture: { vm: { id, name: NAME }, badCredentials: () => vmware.create({ ...options, password: 'wrong' }) },
  })
}
