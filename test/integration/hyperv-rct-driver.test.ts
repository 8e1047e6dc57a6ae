import { afterAll, describe, expect, it } from 'vitest'
import { isGutsError, type Extent, type ExportSession, type SourceDriver, type VmSummary } from '@guts/sdk'
import hyperv from '@guts/driver-hyperv'
import { join } from 'node:path'
import { writeFileSync } from 'node:fs'
import { runCli, tempDir } from '../helpers/cli.js'
import { ctx, labAvailable, labCmd, labOptions, labPassword, readLab, writeLabProfile } from './hyperv-lab.js'
import { rctInfo } from './hyperv-warm-lab.js'

const TIMEOUT = 180_000
const VM = 'warm05'

async function all(it: AsyncIterable<Extent>): Promise<Extent[]> {
  const out: Extent[] = []
  for await (const e of it) out.push(e)
  return out
}

/**
 * The hyperv driver's change tracking through its own API, no core in between, on the lab VM it
 * alone uses: each sync's recovery snapshot and sealed ids, the exact ranges QueryChangesVirtualDisk
 * reports, a reset as `changeTrackingReset`, conversion to a reference point and its release.
 * Then the same VM through the CLI: a warm migration killed while it waits between syncs, and
 * `guts migration cleanup`, which hands the driver the last change ids: no reference point stays.
 */
if (labAvailable()) {
  const lab = readLab()
  let driver: SourceDriver
  const marks = { 'guts-migration': `rct-driver-${process.pid}`, 'guts-source-vm': '' }
  afterAll(async () => {
    await driver?.dispose()
  })

  describe('hyperv: Resilient Change Tracking through the driver', () => {
    it(
      'sync 1 seals ids and becomes a reference point; sync 2 reports exactly the written blocks; a failed sync keeps the reference point; release leaves nothing',
      async () => {
        driver = hyperv.create(labOptions(lab))
        const c = ctx()
        await driver.connect(c)
        let ref: VmSummary | undefined
        for await (const v of driver.listVms({ name: VM }, c)) ref = v
        const vm = await driver.describeVm(ref!, c)
        marks['guts-source-vm'] = vm.id
        const options = { mode: 'snapshot' as const, powerOff: 'refuse' as const, changeTracking: true, marks }
        const disk = vm.disks[0]!
        const g = rctInfo(VM).disks[0]!.granularity

        const first = JSON.parse(JSON.stringify(await driver.beginExport(vm, options, c))) as ExportSession
        const since = first.changeIds![disk.id]!
        expect(since).toMatch(/^rctX:[0-9a-f:]+:[0-9a-f]{8}$/)
        expect(rctInfo(VM).checkpoints.map((x) => x.name)).toEqual([`guts ${marks['guts-migration']}`])
        // '*' is what the frozen disk allocates: sorted, inside the disk.
        const allocated = await all(driver.changedExtents!(first, disk.id, '*', c))
        expect(allocated.length).toBeGreaterThan(0)
        expect(allocated.at(-1)!.offset + allocated.at(-1)!.length).toBeLessThanOrEqual(disk.virtualSize)
        await driver.endExport(first, 'succeeded', c)
        let info = rctInfo(VM)
        expect(info.checkpoints).toEqual([])
        expect(info.referencePoints.map((r) => (r as { rctIds?: string[] }).rctIds)).toEqual([[since]])

        // The guest writes 3 blocks' worth, off block boundaries: 4 blocks are touched.
        labCmd('guest-write', VM, '0', String(6 * g + 4096), String(3 * g))
        const second = await driver.beginExport(vm, options, c)
        const changed = await all(driver.changedExtents!(second, disk.id, since, c))
        expect(changed).toEqual([{ offset: 6 * g, length: 4 * g }])
        // An id of another tracking GUID is a reset, never an error that fails the VM.
        const foreign = since.replace(/^rctX:[0-9a-f]{8}/, 'rctX:00000000')
        const reset = await all(driver.changedExtents!(second, disk.id, foreign, c)).catch((e: unknown) => e)
        expect(isGutsError(reset) && reset.details?.changeTrackingReset).toBe(true)
        // A failed sync merges its snapshot away and keeps the reference point the next one starts from.
        await driver.endExport(second, 'failed', c)
        info = rctInfo(VM)
        expect(info.checkpoints).toEqual([])
        expect(info.referencePoints.length).toBe(1)

        // Rollback/cleanup: the migration's last ids release their reference point; nothing stays.
        const released = await driver.releaseLeftovers!({ id: vm.id, name: vm.name }, marks, c, { changeIds: first.changeIds! })
        expect(released).toBe(1)
        info = rctInfo(VM)
        expect({ checkpoints: info.checkpoints, referencePoints: info.referencePoints }).toEqual({ checkpoints: [], referencePoints: [] })
      },
      TIMEOUT,
    )

    it(
      'a warm migration killed between syncs, then guts migration cleanup: its reference point is destroyed, nothing stays',
      async () => {
        const dir = tempDir('guts-hyperv-rct-cleanup-')
        writeLabProfile(dir, lab)
        writeFileSync(
          join(dir, 'plan.yaml'),
          [
            'version: 1',
            'name: rct-cleanup',
            'source: { profile: hv-lab }',
            'destination: { driver: local, directory: out, format: raw }',
            'warm: { syncInterval: 1h }',
            `vms: [{ name: ${VM}, mode: warm }]`,
            '',
          ].join('\n'),
        )
        const o = { dataDir: join(dir, 'data'), cwd: dir, env: { GUTS_TEST_HV_PASSWORD: labPassword(lab) } }
        let id = ''
        const run = await runCli(['migrate', 'plan.yaml', '--json'], {
          ...o,
          onStdout: (chunk, child) => {
            id ||= /"migrationId":"([^"]+)"/.exec(chunk)?.[1] ?? ''
            // Waiting for the next sync: the full sync's reference point is the only thing on the host.
            if (chunk.includes('"state":"waiting"') && !child.killed) child.kill('SIGKILL')
          },
        })
        expect(run.signal).toBe('SIGKILL')
        expect(rctInfo(VM).referencePoints.length).toBe(1)
        const cleanup = await runCli(['migration', 'cleanup', id.slice(0, 8)], o)
        expect(cleanup.code, cleanup.stdout + cleanup.stderr).toBe(0)
        const info = rctInfo(VM)
        expect({ checkpoints: info.checkpoints, referencePoints: info.referencePoints, state: info.state }).toEqual({
          checkpoints: [],
          referencePoints: [],
          state: 'Running',
        })
      },
      TIMEOUT,
    )
  })
}
