import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveConfig, retrieve, VimSession } from '@guts/driver-vmware/testing'
import { runCli, tempDir } from '../helpers/cli.js'
import { createLabVm, destroyLabVm, flatFileOf, guestWrite, power } from './vcsim-vm.js'
import { labAvailable, readLab } from './vmware-lab.js'

const KiB = 1024
const MiB = 1024 * KiB
const SIZE_MIB = 32

type Event = {
  type: string
  vm?: string
  kind?: string
  bytesChanged?: number
  bytesMoved?: number
  migrationId?: string
  seconds?: number
  status?: string
}

/**
 * A warm migration through the real CLI, vmware (vcsimx) → local: full sync of a running VM, guest
 * writes, a delta sync that moves only the written blocks, `guts migration cutover` from a second
 * process, power-off, final sync, boot; the destination disk equals the source disk after power-off,
 * the downtime is reported, and no snapshot is left on the source. The VM is the test's own.
 */
if (labAvailable()) {
  const lab = readLab()
  const session = new VimSession(
    resolveConfig({ url: lab.url, username: lab.username, password: lab.password, thumbprint: lab.thumbprint }, {}),
  )
  const name = `guts-warm-${process.pid}`
  let vm: { id: string; ref: { type: string; value: string } }
  let dir: string

  beforeAll(async () => {
    await session.connect()
    vm = await createLabVm(session, name, SIZE_MIB)
    // Some data before the full sync: 2 MiB at 1 MiB, and the last 64 KiB.
    await guestWrite(lab, name, 1 * MiB, randomBytes(2 * MiB))
    await guestWrite(lab, name, SIZE_MIB * MiB - 64 * KiB, randomBytes(64 * KiB))
    await power(session, vm.ref, true)
    dir = tempDir('guts-warm-vcsim-')
    writeFileSync(
      join(dir, 'plan.yaml'),
      [
        'version: 1',
        'name: warm-lab',
        'source:',
        '  driver: vmware',
        `  url: ${JSON.stringify(lab.url)}`,
        `  username: ${JSON.stringify(lab.username)}`,
        '  password: ${env:GUTS_TEST_VC_PASSWORD}',
        `  thumbprint: ${JSON.stringify(lab.thumbprint)}`,
        'destination: { driver: local, directory: out, format: raw }',
        'warm: { syncInterval: 1s }',
        'vms:',
        `  - name: ${name}`,
        '    mode: warm',
        '',
      ].join('\n'),
    )
  })

  afterAll(async () => {
    await destroyLabVm(session, vm.ref)
    await session.close()
  })

  describe('warm migration vmware → local (vcsimx)', () => {
    it('syncs while the VM runs, moves only changed blocks, cuts over on request and reports the downtime', async () => {
      const env = { GUTS_TEST_VC_PASSWORD: lab.password }
      const dataDir = join(dir, 'data')
      const events: Event[] = []
      let buffer = ''
      let phase = 0
      const steps: Promise<unknown>[] = []
      const run = await runCli(['migrate', 'plan.yaml', '--json'], {
        dataDir,
        cwd: dir,
        env,
        onStdout: (chunk) => {
          buffer += chunk
          for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
            const line = buffer.slice(0, nl)
            buffer = buffer.slice(nl + 1)
            if (!line.startsWith('{')) continue
            const e = JSON.parse(line) as Event
            events.push(e)
            if (e.type !== 'vm.sync') continue
            if (phase === 0 && e.kind === 'full') {
              phase = 1
              // The guest writes 192 KiB in three 64 KiB blocks while the VM runs.
              steps.push(
                Promise.all([
                  guestWrite(lab, name, 4 * MiB, randomBytes(64 * KiB)),
                  guestWrite(lab, name, 20 * MiB + 64 * KiB, randomBytes(128 * KiB)),
                ]).then(() => (phase = 2)),
              )
            } else if (phase === 2 && e.kind === 'delta' && (e.bytesChanged ?? 0) > 0) {
              phase = 3
              // A last write after that delta, then cutover from another process.
              const id = events.find((x) => x.type === 'migration.started')!.migrationId!
              steps.push(
                guestWrite(lab, name, 30 * MiB, Buffer.from('written just before the cutover')).then(() =>
                  runCli(['migration', 'cutover', id.slice(0, 8)], { dataDir, cwd: dir, env }),
                ),
              )
            }
          }
        },
      })
      const [, cutover] = (await Promise.all(steps)) as [unknown, { code: number; stdout: string } | undefined]
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' })
      expect(cutover?.code).toBe(0)
      expect(cutover?.stdout).toMatch(/Cutover requested for guts-warm-/)

      const syncs = events.filter((e) => e.type === 'vm.sync')
      expect(syncs[0]).toMatchObject({ kind: 'full' })
      const delta = syncs.find((e) => e.kind === 'delta' && (e.bytesChanged ?? 0) > 0)!
      expect(delta.bytesChanged).toBe(192 * KiB)
      expect(delta.bytesMoved).toBe(192 * KiB)
      expect(syncs.at(-1)).toMatchObject({ kind: 'final' })
      // The write just before the cutover (one 64 KiB block) moves once: in the final sync, or in a
      // delta that ran while the cutover command started (syncInterval is 1s, and a busy machine
      // takes longer than that to start a CLI).
      const after = syncs.slice(syncs.indexOf(delta) + 1)
      expect(after.reduce((sum, e) => sum + (e.bytesChanged ?? 0), 0)).toBe(64 * KiB)
      const downtime = events.find((e) => e.type === 'vm.downtime')
      expect(downtime?.seconds).toBeGreaterThan(0)
      const { report } = events.find((e) => e.type === 'report') as unknown as {
        report: { status: string; vms: { downtime?: { seconds: number } }[] }
      }
      expect(report.status).toBe('succeeded')
      expect(report.vms[0]!.downtime?.seconds).toBe(downtime!.seconds)

      const show = await runCli(['migration', 'show', events.find((x) => x.type === 'migration.started')!.migrationId!], {
        dataDir,
        cwd: dir,
        env,
      })
      expect(show.stdout).toMatch(new RegExp(`${name} warm: \\d+ sync\\(s\\), last .*, cut over`))
      expect(show.stdout).toMatch(new RegExp(`${name} downtime \\d+\\.\\ds \\(source off `))

      // Source: powered off by the cutover, no snapshot left. Destination: equal to the source disk.
      const [o] = await retrieve(session, [vm.ref], 'VirtualMachine', ['runtime.powerState', 'snapshot'])
      expect(o!.props['runtime.powerState']).toBe('poweredOff')
      expect(o!.props.snapshot).toBeUndefined()
      const source = readFileSync(await flatFileOf(session, lab, vm.ref))
      const landed = readFileSync(join(dir, 'out', name, `${name}-disk0.raw`))
      expect(landed.length).toBe(SIZE_MIB * MiB)
      expect(landed.equals(source)).toBe(true)
    })
  })
}
