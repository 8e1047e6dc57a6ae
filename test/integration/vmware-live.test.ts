import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHash } from 'node:crypto'
import vmware from '@guts/driver-vmware'
import { resolveConfig, retrieve, runTask, VimSession, type Moref, type VmwareSource } from '@guts/driver-vmware/testing'
import type { ExportOptions, ExportSession, VmDescriptor } from '@guts/sdk'
import { cuttingProxy } from '../helpers/cutting-proxy.js'
import { ctx, datastoreFile, labAvailable, readAll, readLab, setPower, snapshotsOf, vmByName } from './vmware-lab.js'

/**
 * Live (snapshot) export of a running VM against vcsimx, on DC0_C0_RP0_VM0: no other test file
 * uses it. Every test leaves it running, with no snapshots. Never two snapshots at once here:
 * vcsim 0.24.2 re-keys a VM's file layout when a snapshot is removed, and removing a second
 * snapshot afterwards then deletes an unrelated file of the VM (its disk, say). Tests that need
 * two snapshots run on a VM of their own (vmware-warm.test.ts).
 */
if (labAvailable()) {
  const lab = readLab()
  const options = { url: lab.url, username: lab.username, password: lab.password, thumbprint: lab.thumbprint }
  const NAME = 'DC0_C0_RP0_VM0'
  const session = new VimSession(resolveConfig(options, {}))
  const ref: Moref = await vmByName(session, NAME)
  const marks = { 'guts-migration': `live-${process.pid}`, 'guts-source-vm': ref.value }
  const snapshotMode: ExportOptions = { mode: 'snapshot', powerOff: 'refuse', marks }
  const frozenFile = (s: ExportSession): string =>
    (s.data.disks as Record<string, { fileName: string }>)[Object.keys(s.data.disks as object)[0]!]!.fileName.replace(
      /\.vmdk$/,
      '-flat.vmdk',
    )
  let vm: VmDescriptor

  beforeAll(async () => {
    await setPower(session, ref, true)
    const d = vmware.create(options)
    vm = await d.describeVm({ id: ref.value, name: NAME }, ctx())
    await d.dispose()
  })
  afterAll(async () => {
    // Whatever a failed test left: no snapshot of ours, the VM on.
    for (const s of await snapshotsOf(session, ref)) {
      await runTask(session, 'RemoveSnapshot_Task', {
        _this: { type: 'VirtualMachineSnapshot', value: s.id },
        removeChildren: false,
      }).catch(() => undefined)
    }
    await setPower(session, ref, true)
    await session.close()
  })

  describe('vmware live export (snapshot of a running VM)', () => {
    it('exports the frozen snapshot disk byte-exact while the VM runs, then removes the snapshot', async () => {
      const driver = vmware.create(options) as VmwareSource
      const c = ctx()
      expect(vm.powerState).toBe('on')
      const s = await driver.beginExport(vm, snapshotMode, c)
      try {
        expect(s.mode).toBe('snapshot')
        expect(s.changeIds).toBeUndefined()
        const snaps = await snapshotsOf(session, ref)
        expect(snaps.map((x) => x.name)).toEqual([`guts-${marks['guts-migration']}`])
        expect(JSON.parse(snaps[0]!.description!)).toMatchObject({ marks })
        // Another process: only the JSON of the session.
        const other = vmware.create(options) as VmwareSource
        const src = await other.openDisk(JSON.parse(JSON.stringify(s)) as ExportSession, vm.disks[0]!.id, c)
        if (src.kind !== 'stream') throw new Error('expected a stream')
        const bytes = await readAll(await src.open(c.signal))
        const truth = await datastoreFile(session, lab, frozenFile(s))
        expect(bytes.length).toBe(vm.disks[0]!.virtualSize)
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(
          createHash('sha256').update(truth.subarray(0, bytes.length)).digest('hex'),
        )
        expect(bytes.equals(Buffer.alloc(bytes.length))).toBe(false)
        // vcsimx freezes a flat copy: random access works, at any offset.
        expect(typeof src.readRange).toBe('function')
        const at = 3 * 65536 + 17
        expect((await readAll(await src.readRange!(at, 300_000, c.signal))).equals(bytes.subarray(at, at + 300_000))).toBe(true)
        expect((await readAll(await src.readRange!(bytes.length - 1, 1, c.signal))).equals(bytes.subarray(-1))).toBe(true)
        // No CBT on this VM: `*` is the whole disk.
        const all = []
        for await (const e of other.changedExtents(s, vm.disks[0]!.id, '*', c)) all.push(e)
        expect(all).toEqual([{ offset: 0, length: vm.disks[0]!.virtualSize }])
        await other.dispose()
      } finally {
        await driver.endExport(s, 'succeeded', c)
        await driver.endExport(s, 'succeeded', c) // idempotent
        await driver.dispose()
      }
      expect(await snapshotsOf(session, ref)).toEqual([])
      expect((await driver.describeVm(vm, ctx())).powerState).toBe('on')
    })

    it('a failed or aborted export aborts the lease and still removes the snapshot, even with the run aborted', async () => {
      const driver = vmware.create(options) as VmwareSource
      const c = ctx()
      const s = await driver.beginExport(vm, snapshotMode, c)
      expect((await snapshotsOf(session, ref)).length).toBe(1)
      // Cleanup after an abort, by a process that has not logged in yet: the fired signal must not stop it.
      const aborted = new AbortController()
      aborted.abort(new Error('user pressed ^C'))
      const fresh = vmware.create(options) as VmwareSource
      await fresh.endExport(s, 'failed', ctx(aborted.signal))
      await fresh.dispose()
      expect(await snapshotsOf(session, ref)).toEqual([])
      const [lease] = await retrieve(session, [{ type: 'HttpNfcLease', value: String(s.data.lease) }], 'HttpNfcLease', ['state'])
      expect(lease?.props.state).toBe('error')
      await driver.endExport(s, 'aborted', c)
      await driver.dispose()
    })

    it('an aborted lease is a clear error at openDisk; endExport still cleans up', async () => {
      const driver = vmware.create(options) as VmwareSource
      const c = ctx()
      const s = await driver.beginExport(vm, snapshotMode, c)
      await session.call('HttpNfcLeaseAbort', { _this: { type: 'HttpNfcLease', value: String(s.data.lease) } })
      await expect(driver.openDisk(s, vm.disks[0]!.id, c)).rejects.toMatchObject({
        code: 'GUTS_CONFLICT',
        message: expect.stringMatching(new RegExp(`lease .* of ${NAME} was aborted.*begin a new one`)),
      })
      await driver.endExport(s, 'failed', c)
      expect(await snapshotsOf(session, ref)).toEqual([])
      await driver.dispose()
    })

    it('a connection cut mid-download is GUTS_UNREACHABLE (retryable); opening again works', async () => {
      const proxy = await cuttingProxy(lab.port, 1 << 20)
      const driver = vmware.create({ ...options, url: `https://127.0.0.1:${proxy.port}/sdk` }) as VmwareSource
      const c = ctx()
      const s = await driver.beginExport(vm, snapshotMode, c)
      try {
        // The lease URLs name the host the driver talked to: the proxy.
        expect(Object.values(s.data.disks as Record<string, { url: string }>)[0]!.url).toContain(`:${proxy.port}/`)
        const src = await driver.openDisk(s, vm.disks[0]!.id, c)
        if (src.kind !== 'stream') throw new Error('expected a stream')
        const error = await readAll(await src.open(c.signal)).then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(proxy.cuts()).toBe(1)
        expect(error).toMatchObject({ code: 'GUTS_UNREACHABLE', retryable: true, message: expect.stringMatching(/interrupted/) })
        expect((await readAll(await src.open(c.signal))).length).toBe(vm.disks[0]!.virtualSize)
      } finally {
        await driver.endExport(s, 'failed', c)
        await driver.dispose()
        await proxy.close()
      }
      expect(await snapshotsOf(session, ref)).toEqual([])
    })
  })
}
