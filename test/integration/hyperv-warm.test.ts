import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli, tempDir, type CliResult } from '../helpers/cli.js'
import { jsonLines } from '../helpers/json-lines.js'
import * as openstack from './openstack-lab.js'
import { labAvailable, labCmd, labPassword, readLab, writeLabProfile } from './hyperv-lab.js'
import { WARM_VMS, rctInfo, type MigrateEvent } from './hyperv-warm-lab.js'

const TIMEOUT = 400_000
const MiB = 1024 * 1024

/**
 * Warm migration from Hyper-V through the real CLI, against the lab's emulated host (recovery
 * snapshots through WMI, RCT queries through VirtDisk): a full sync while the VM runs, guest writes,
 * delta syncs that move exactly the blocks RCT reports (at its granularity), cutover from a second
 * process, the downtime, the source off with no checkpoint or reference point left, and the landed
 * disks equal to the source. Then: a disk whose change tracking is reset between syncs is copied
 * whole and the migration still succeeds; kill -9 during a delta sync and `guts migration resume`
 * finish with nothing left on the host; a VM without RCT is refused at preflight. Each test owns its VM.
 */
if (labAvailable()) {
  const lab = readLab()
  let dir: string
  const env = () => ({ GUTS_TEST_HV_PASSWORD: labPassword(lab) })
  const dataDir = () => join(dir, 'data')
  const cli = (args: string[], onStdout?: (chunk: string) => void): Promise<CliResult> =>
    runCli(args, { dataDir: dataDir(), cwd: dir, env: env(), ...(onStdout ? { onStdout } : {}) })
  const state = (vm: string): string => labCmd('ps', `[string](Get-VM -Name '${vm}').State`).trim()
  const drivePath = (vm: string, i: number): string => labCmd('ps', `@(Get-VMHardDiskDrive -VMName '${vm}')[${i}].Path`).trim()
  const write = (vm: string, drive: number, offset: number, length: number) =>
    labCmd('guest-write', vm, String(drive), String(offset), String(length))
  /** The landed disk equals the VM's disk at the source now (qemu-img compare, raw both). */
  const sameAsSource = (vm: string, drive: number, landed: string) => {
    const out = join(dir, `src-${vm}-${drive}.raw`)
    labCmd('disk-raw', drivePath(vm, drive), out)
    execFileSync('qemu-img', ['compare', '-q', '-f', 'raw', '-F', 'raw', out, landed])
  }
  /** Nothing of the migration stays on the host: no checkpoint, no reference point. */
  const nothingLeft = (vm: string) => {
    const info = rctInfo(vm)
    expect({ checkpoints: info.checkpoints, referencePoints: info.referencePoints }).toEqual({ checkpoints: [], referencePoints: [] })
  }
  const plan = (name: string, lines: string[], interval = '1s') => {
    writeFileSync(
      join(dir, `${name}.yaml`),
      ['version: 1', `name: ${name}`, 'source: { profile: hv-lab }', `warm: { syncInterval: ${interval} }`, ...lines, ''].join('\n'),
    )
    return `${name}.yaml`
  }
  beforeAll(() => {
    dir = tempDir('guts-hyperv-warm-')
    writeLabProfile(dir, lab)
  })

  afterAll(() => {
    // The tests' VMs run again for the next run (a cutover leaves them off).
    for (const vm of Object.values(WARM_VMS)) if (vm.restore) labCmd('vm-state', vm.name, 'Running')
  })

  describe('warm migration hyperv → local (RCT)', () => {
    it(
      'full sync while it runs, a delta of exactly the changed RCT blocks, cutover from a second process, downtime, nothing left',
      async () => {
        const vm = WARM_VMS.local.name
        const g = rctInfo(vm).disks[0]!.granularity
        expect(state(vm)).toBe('Running')
        let phase = 0
        const steps: Promise<unknown>[] = []
        const ev = jsonLines<MigrateEvent>((e, all) => {
          if (e.type !== 'vm.sync') return
          if (phase === 0 && e.kind === 'full') {
            phase = 1
            // Two whole RCT blocks, and two sectors across a block boundary (two more blocks).
            write(vm, 0, 8 * g, 2 * g)
            write(vm, 0, 20 * g - 512, 1024)
            phase = 2
          } else if (phase === 2 && e.kind === 'delta' && (e.bytesChanged ?? 0) > 0) {
            phase = 3
            const id = all.find((x) => x.type === 'migration.started')!.migrationId!
            write(vm, 0, 30 * g, 512)
            steps.push(cli(['migration', 'cutover', id.slice(0, 8)]))
          }
        })
        const run = await cli(
          [
            'migrate',
            plan('warm-local', ['destination: { driver: local, directory: out, format: raw }', `vms: [{ name: ${vm}, mode: warm }]`]),
            '--json',
          ],
          ev.feed,
        )
        const [cutover] = (await Promise.all(steps)) as [CliResult]
        expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' })
        expect(cutover.code, cutover.stdout + cutover.stderr).toBe(0)

        const syncs = ev.all.filter((e) => e.type === 'vm.sync')
        expect(syncs[0]).toMatchObject({ kind: 'full' })
        expect(syncs.at(-1)).toMatchObject({ kind: 'final' })
        // Every later sync moved exactly what RCT reported, in whole RCT blocks: 2 + 2 blocks (the
        // two sectors straddle a boundary) before the cutover was asked for, 1 block for the last write
        // (in whichever sync saw it). The writes take seconds, so a sync may fall between them.
        const later = syncs.slice(1)
        for (const e of later) expect(e.bytesMoved).toBe(e.bytesChanged)
        expect(later.reduce((n, e) => n + (e.bytesChanged ?? 0), 0)).toBe(5 * g)
        expect(later.some((e) => e.kind === 'delta' && (e.bytesChanged ?? 0) > 0)).toBe(true)
        const downtime = ev.all.find((e) => e.type === 'vm.downtime')
        expect(downtime?.seconds).toBeGreaterThan(0)

        expect(state(vm)).toBe('Off')
        nothingLeft(vm)
        sameAsSource(vm, 0, join(dir, 'out', vm, `${vm}-disk0.raw`))
      },
      TIMEOUT,
    )

    it(
      'a disk whose change tracking is reset between syncs is copied whole; the other disk stays a delta; the migration succeeds',
      async () => {
        const vm = WARM_VMS.reset.name
        const info = rctInfo(vm)
        const g0 = info.disks[0]!.granularity
        let done = false
        const ev = jsonLines<MigrateEvent>((e, all) => {
          if (e.type !== 'vm.sync' || e.kind !== 'full' || done) return
          done = true
          write(vm, 0, 2 * g0, g0)
          labCmd('rct-reset', vm, '1')
          write(vm, 1, MiB, 4096)
          const id = all.find((x) => x.type === 'migration.started')!.migrationId!
          void cli(['migration', 'cutover', id.slice(0, 8)])
        })
        const run = await cli(
          [
            'migrate',
            // No delta until the cutover: the reset must not land in the middle of a sync (one started
            // before it sealed an id of the old tracking, so the next one would copy the disk whole again).
            plan(
              'warm-reset',
              ['destination: { driver: local, directory: reset-out, format: raw }', `vms: [{ name: ${vm}, mode: warm }]`],
              '1h',
            ),
            '--json',
          ],
          ev.feed,
        )
        expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' })
        // Disk 1 lost its RCT history: copied whole once, with a warning naming it; disk 0 stayed a delta.
        const warned = ev.all.filter((e) => e.type === 'log' && /change tracking was reset/.test(e.message ?? ''))
        expect(warned.map((e) => /^(\S+): change tracking/.exec(e.message!)?.[1])).toEqual(['scsi0:1'])
        const later = ev.all.filter((e) => e.type === 'vm.sync' && e.kind !== 'full')
        expect(later.reduce((n, e) => n + (e.bytesChanged ?? 0), 0)).toBeGreaterThanOrEqual(g0 + 4096)
        nothingLeft(vm)
        for (const i of [0, 1]) sameAsSource(vm, i, join(dir, 'reset-out', vm, `${vm}-disk${i}.raw`))
      },
      TIMEOUT,
    )

    it(
      'kill -9 during a delta sync, then guts migration resume: the sync is redone, the cutover happens, nothing is left',
      async () => {
        const vm = WARM_VMS.resume.name
        const g = rctInfo(vm).disks[0]!.granularity
        const resumeData = join(dir, 'data-resume')
        let id = ''
        let snapshots = 0
        let wrote = false
        const lines = jsonLines<MigrateEvent>((e) => {
          id ||= e.migrationId ?? ''
          if (!wrote && e.type === 'vm.sync' && e.kind === 'full') {
            wrote = true
            write(vm, 0, 4 * g, 3 * g)
          }
          // The second recovery snapshot is the first delta sync's: kill the run as it starts reading.
          if (e.type === 'log' && /recovery snapshot "guts .*" taken/.test(e.message ?? '')) snapshots++
        })
        const first = await runCli(
          [
            'migrate',
            plan('warm-resume', [
              'destination: { driver: local, directory: resume-out, format: raw }',
              `vms: [{ name: ${vm}, mode: warm }]`,
            ]),
            '--json',
          ],
          {
            dataDir: resumeData,
            cwd: dir,
            env: env(),
            onStdout: (chunk, child) => {
              lines.feed(chunk)
              if (snapshots >= 2 && !child.killed) child.kill('SIGKILL')
            },
          },
        )
        expect(first.signal).toBe('SIGKILL')
        expect(rctInfo(vm).checkpoints.map((c) => c.name)).toEqual([`guts ${id}`])
        // The cutover is requested while nothing runs; resume runs the interrupted delta, then the final sync.
        expect((await runCli(['migration', 'cutover', id.slice(0, 8)], { dataDir: resumeData, cwd: dir, env: env() })).code).toBe(0)
        const resumed = await runCli(['migration', 'resume', id.slice(0, 8), '--json'], { dataDir: resumeData, cwd: dir, env: env() })
        expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0)
        const syncs = resumed.stdout
          .split('\n')
          .filter((l) => l.includes('"type":"vm.sync"'))
          .map((l) => JSON.parse(l) as MigrateEvent)
        expect(syncs.reduce((n, e) => n + (e.bytesChanged ?? 0), 0)).toBe(3 * g)
        expect(state(vm)).toBe('Off')
        nothingLeft(vm)
        sameAsSource(vm, 0, join(dir, 'resume-out', vm, `${vm}-disk0.raw`))
      },
      TIMEOUT,
    )

    it(
      'a VM without Resilient Change Tracking (configuration version 5.0) is refused at preflight; nothing is taken',
      async () => {
        const vm = WARM_VMS.noRct.name
        const r = await cli([
          'migrate',
          plan('warm-old', ['destination: { driver: local, directory: old-out }', `vms: [{ name: ${JSON.stringify(vm)}, mode: warm }]`]),
        ])
        expect(r.code).toBe(1)
        expect(r.stdout + r.stderr).toMatch(/rct-vm-version|configuration version 5\.0/)
        expect(r.stdout + r.stderr).not.toMatch(/\n\s+at /)
        expect(rctInfo(vm).checkpoints).toEqual([])
        expect(state(vm)).toBe('Running')
      },
      TIMEOUT,
    )

    if (openstack.labAvailable()) {
      it(
        'warm hyperv → OpenStack: syncs, cutover, an ACTIVE server whose volume equals the source disk',
        async () => {
          const vm = WARM_VMS.openstack.name
          const client = openstack.labClient()
          let report: { id: string; vms: { instance: { id: string; data: { volumes: string[] } } }[] } | undefined
          let done = false
          const ev = jsonLines<MigrateEvent>((e, all) => {
            if (e.type !== 'vm.sync' || done) return
            done = true
            write(vm, 0, 5 * MiB, 64 * 1024)
            void cli(['migration', 'cutover', all.find((x) => x.type === 'migration.started')!.migrationId!.slice(0, 8)])
          })
          try {
            const r = await cli(
              [
                'migrate',
                plan('warm-openstack', [
                  `destination: { driver: openstack, cloud: ${openstack.cloud}, bootFrom: volume }`,
                  'defaults: { flavor: auto, networks: [{ from: vSwitch-Prod, to: lab-net, keepMac: false }] }',
                  `vms: [{ name: ${vm}, mode: warm }]`,
                ]),
                '--json',
              ],
              ev.feed,
            )
            expect({ code: r.code, stderr: r.stderr, failed: r.code ? r.stdout.slice(-3000) : '' }).toEqual({
              code: 0,
              stderr: '',
              failed: '',
            })
            report = (ev.all.find((e) => e.type === 'report') as unknown as { report: NonNullable<typeof report> }).report
            const instance = report.vms[0]!.instance
            expect((await client.nova.server(instance.id))?.status).toBe('ACTIVE')
            const volume = openstack.volumeFile(instance.data.volumes[0]!)
            sameAsSource(vm, 0, volume)
            expect(ev.all.some((e) => e.type === 'vm.downtime')).toBe(true)
            nothingLeft(vm)
          } finally {
            if (report) await openstack.deleteMigrationResources(client, report.id, report.vms[0]?.instance.id)
            await client.close()
          }
        },
        TIMEOUT,
      )
    }
  })
}
