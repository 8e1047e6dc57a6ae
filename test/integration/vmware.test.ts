import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import vmware from '@guts/driver-vmware'
import { resolveConfig, retrieveAll, runTask, VimSession, type VmwareSource } from '@guts/driver-vmware/testing'
import type { VmSummary } from '@guts/sdk'
import { ctx, labAvailable, readLab } from './vmware-lab.js'

if (labAvailable()) {
  const lab = readLab()
  const pinned = { url: lab.url, username: lab.username, password: lab.password, thumbprint: lab.thumbprint }

  describe('vmware source against vcsim', () => {
    let driver: VmwareSource
    const vms: VmSummary[] = []

    beforeAll(async () => {
      driver = vmware.create(pinned) as VmwareSource
      await driver.connect(ctx())
      for await (const vm of driver.listVms({}, ctx())) vms.push(vm)
    })
    afterAll(async () => {
      await driver?.dispose()
    })

    it('connects with the pinned thumbprint and with the CA bundle; connect is idempotent', async () => {
      await driver.connect(ctx())
      const byCa = vmware.create({ url: lab.url, username: lab.username, password: lab.password, caCert: lab.caFile })
      await byCa.connect(ctx())
      await byCa.dispose()
    })

    it('a wrong password is GUTS_AUTH_FAILED (InvalidLogin)', async () => {
      const bad = vmware.create({ ...pinned, password: 'wrong' })
      await expect(bad.connect(ctx())).rejects.toMatchObject({ code: 'GUTS_AUTH_FAILED', details: { vmware: { fault: 'InvalidLogin' } } })
      await bad.dispose()
    })

    it('another certificate than the pinned one is refused before the password is sent', async () => {
      const bad = vmware.create({ ...pinned, thumbprint: lab.thumbprint.replace(/^../, lab.thumbprint.startsWith('00') ? '11' : '00') })
      await expect(bad.connect(ctx())).rejects.toMatchObject({ code: 'GUTS_AUTH_FAILED', message: expect.stringMatching(/pin/) })
      await bad.dispose()
    })

    it('lists the VMs with folder, host and power state', () => {
      expect(vms.length).toBeGreaterThanOrEqual(4)
      const vm0 = vms.find((v) => v.name === 'DC0_H0_VM0')
      // No asymmetric matchers on shared objects: Bun's toMatchObject writes them into the received object.
      expect(vm0!.id).toMatch(/^vm-\d+$/)
      expect({ folder: vm0!.folder, host: vm0!.host }).toEqual({ folder: '/DC0/vm', host: 'DC0_H0' })
      expect(['on', 'off']).toContain(vm0!.powerState)
    })

    it('filters by name glob, folder and power state', async () => {
      const names = async (q: Parameters<VmwareSource['listVms']>[0]): Promise<string[]> => {
        const out: string[] = []
        for await (const v of driver.listVms(q, ctx())) out.push(v.name)
        return out.sort()
      }
      expect(await names({ name: 'DC0_H0_VM*' })).toEqual(['DC0_H0_VM0', 'DC0_H0_VM1'])
      // Other files create and destroy VMs of their own (guts-*) meanwhile: count the model VMs only.
      const model = (xs: string[]) => xs.filter((n) => n.startsWith('DC0_'))
      expect(model(await names({ folder: '/DC0/vm' })).length).toBe(model(vms.map((v) => v.name)).length)
      expect(await names({ folder: '/DC9' })).toEqual([])
      // vmware-suite.test.ts powers a VM off meanwhile: check the filter, not a fixed list.
      const states = async (q: Parameters<VmwareSource['listVms']>[0]): Promise<string[]> => {
        const out: string[] = []
        for await (const v of driver.listVms(q, ctx())) out.push(v.powerState)
        return out
      }
      const on = await states({ powerState: 'on' })
      const off = await states({ powerState: 'off' })
      expect(on.length).toBeGreaterThan(0)
      expect([...new Set(on)]).toEqual(['on'])
      expect(off.every((p) => p === 'off')).toBe(true)
    })

    // vcsim 0.24.2 ignores maxObjects and never returns a token (its PropertyCollector has no
    // ContinueRetrievePropertiesEx), so this checks only that a paged request is accepted and
    // complete; the token loop itself is covered by test/property-collector.test.ts.
    it('a paged inventory request (maxObjects 1) returns every VM', async () => {
      const s = new VimSession(resolveConfig(pinned, {}))
      await s.connect()
      const seen: string[] = []
      for await (const o of retrieveAll(s, 'VirtualMachine', ['name'], { maxObjects: 1 })) seen.push(String(o.props.name))
      // Only the model VMs: other files create and destroy VMs of their own meanwhile.
      const model = (xs: string[]) => xs.filter((n) => n.startsWith('DC0_')).sort()
      expect(model(seen)).toEqual(model(vms.map((v) => v.name)))
      await s.close()
    })

    it('describes a VM: hardware, disks, NICs, extra facts', async () => {
      const vm0 = vms.find((v) => v.name === 'DC0_H0_VM0')!
      const d = await driver.describeVm(vm0, ctx())
      expect(d).toMatchObject({
        id: vm0.id,
        name: 'DC0_H0_VM0',
        folder: '/DC0/vm',
        firmware: 'bios',
        secureBoot: false,
        os: { family: 'other', id: 'otherGuest' },
      })
      expect(d.cpus).toBeGreaterThan(0)
      expect(d.memoryMiB).toBeGreaterThan(0)
      expect(d.disks.length).toBeGreaterThan(0)
      expect(d.disks[0]).toMatchObject({ index: 0, format: 'vmdk', controller: 'scsi' })
      expect(d.disks[0]!.virtualSize).toBeGreaterThan(0)
      expect(d.nics[0]).toMatchObject({
        mac: expect.stringMatching(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/),
        network: expect.stringMatching(/.+/),
      })
      expect(d.extra).toMatchObject({
        moref: `VirtualMachine:${vm0.id}`,
        changeTracking: expect.any(Boolean),
        snapshots: expect.any(Number),
      })
      expect((d.extra!.disks as { fileName: string }[])[0]!.fileName).toMatch(/^\[.+\] /)
      expect((await driver.preflight(d, { mode: 'cold', powerOff: 'shutdown' }, ctx())).map((f) => f.code)).toEqual(
        d.powerState === 'off' ? [] : ['vm-will-power-off'],
      )
      expect((await driver.preflight(d, { mode: 'cold', powerOff: 'refuse' }, ctx())).map((f) => f.code)).toEqual(
        d.powerState === 'off' ? [] : ['vm-powered-on'],
      )
      expect((await driver.preflight(d, { mode: 'snapshot', powerOff: 'refuse', changeTracking: true }, ctx())).map((f) => f.code)).toEqual(
        [],
      )
    })

    it('counts snapshots, through a CreateSnapshot_Task / RemoveSnapshot_Task round trip', async () => {
      const vm1 = vms.find((v) => v.name === 'DC0_H0_VM1')!
      const s = new VimSession(resolveConfig(pinned, {}))
      await s.connect()
      const before = (await driver.describeVm(vm1, ctx())).extra!.snapshots as number
      const snap = await runTask(
        s,
        'CreateSnapshot_Task',
        { _this: { type: 'VirtualMachine', value: vm1.id }, name: 'guts-test <&>', memory: false, quiesce: false },
        { timeoutMs: 60_000 },
      )
      try {
        expect(snap).toMatchObject({ type: 'VirtualMachineSnapshot' })
        expect((await driver.describeVm(vm1, ctx())).extra).toMatchObject({ snapshots: before + 1 })
      } finally {
        await runTask(
          s,
          'RemoveSnapshot_Task',
          { _this: snap as { type: string; value: string }, removeChildren: false },
          { timeoutMs: 60_000 },
        )
        await s.close()
      }
      expect((await driver.describeVm(vm1, ctx())).extra).toMatchObject({ snapshots: before })
    })

    it('an unknown VM is GUTS_NOT_FOUND', async () => {
      await expect(driver.describeVm({ id: 'vm-999999', name: 'ghost' }, ctx())).rejects.toMatchObject({
        code: 'GUTS_NOT_FOUND',
        message: expect.stringMatching(/ghost/),
      })
    })

    it('a running VM is not exported cold: the core powers it off first (powerOff), or the plan refuses', async () => {
      const running = vms.find((v) => v.name === 'DC0_H0_VM0' && v.powerState === 'on')
      if (!running) return
      const d = await driver.describeVm(running, ctx())
      await expect(driver.beginExport(d, { mode: 'cold', powerOff: 'refuse' }, ctx())).rejects.toMatchObject({
        code: 'GUTS_CONFLICT',
        message: expect.stringMatching(/DC0_H0_VM0 is poweredOn.*powerOff: refuse/),
      })
      await expect(driver.beginExport(d, { mode: 'cold', powerOff: 'shutdown' }, ctx())).rejects.toMatchObject({
        code: 'GUTS_CONFLICT',
        message: expect.stringMatching(/power it off first/),
      })
      await expect(driver.beginExport(d, { mode: 'cold', powerOff: 'refuse', changeTracking: true }, ctx())).rejects.toMatchObject({
        code: 'GUTS_UNSUPPORTED',
      })
    })
  })
}
