import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveConfig, retrieve, VimSession } from '@guts/driver-vmware/testing'
import { runCli, tempDir } from '../helpers/cli.js'
import * as openstack from './openstack-lab.js'
import { createLabVm, destroyLabVm, flatFileOf, guestWrite, power } from './vcsim-vm.js'
import { labAvailable, readLab } from './vmware-lab.js'

const MiB = 1024 * 1024
const TIMEOUT = 300_000
type Mode = 'cold' | 'snapshot' | 'warm'

/**
 * Every export mode of the vmware source through the real CLI, into `local` and into OpenStack:
 * cold (the running VM is powered off by guts), snapshot (it keeps running) and warm (cut over at
 * `cutoverAt`). Each case has its own lab VM with a NIC on "VM Network" and 8 MiB of data; the
 * landed disk must equal the source's flat file, and no snapshot may be left behind.
 */
if (labAvailable()) {
  const lab = readLab()
  const session = new VimSession(
    resolveConfig({ url: lab.url, username: lab.username, password: lab.password, thumbprint: lab.thumbprint }, {}),
  )
  const made: { type: string; value: string }[] = []
  const env = { GUTS_TEST_VC_PASSWORD: lab.password }
  beforeAll(() => session.connect())
  afterAll(async () => {
    for (const ref of made) await destroyLabVm(session, ref)
    await session.close()
  })

  const source = [
    'source:',
    '  driver: vmware',
    `  url: ${JSON.stringify(lab.url)}`,
    `  username: ${JSON.stringify(lab.username)}`,
    '  password: ${env:GUTS_TEST_VC_PASSWORD}',
    `  thumbprint: ${JSON.stringify(lab.thumbprint)}`,
  ]
  const vmLines = (name: string, mode: Mode) => [
    'vms:',
    `  - name: ${name}`,
    `    mode: ${mode}`,
    ...(mode === 'cold' ? ['    powerOff: force'] : []),
  ]
  const warm = (mode: Mode) =>
    mode === 'warm' ? [`warm: { syncInterval: 1s, cutoverAt: "${new Date(Date.now() + 3000).toISOString()}" }`] : []

  async function labVm(tag: string) {
    const name = `guts-${tag}-${process.pid}`
    const vm = await createLabVm(session, name, 16, { nic: 'VM Network' })
    made.push(vm.ref)
    await guestWrite(lab, name, 2 * MiB, randomBytes(8 * MiB))
    await power(session, vm.ref, true)
    return { name, ...vm }
  }

  async function checkSource(ref: { type: string; value: string }, mode: Mode): Promise<string> {
    const [o] = await retrieve(session, [ref], 'VirtualMachine', ['runtime.powerState', 'snapshot'])
    expect(o!.props.snapshot).toBeUndefined()
    expect(o!.props['runtime.powerState']).toBe(mode === 'snapshot' ? 'poweredOn' : 'poweredOff')
    return flatFileOf(session, lab, ref)
  }

  describe('vmware (vcsimx) → local, every mode', () => {
    for (const mode of ['cold', 'snapshot', 'warm'] as const) {
      it(
        `${mode}: the landed disk equals the source disk`,
        async () => {
          const vm = await labVm(`l${mode}`)
          const dir = tempDir(`guts-${mode}-local-`)
          writeFileSync(
            join(dir, 'plan.yaml'),
            [
              'version: 1',
              `name: ${mode}-local`,
              ...source,
              'destination: { driver: local, directory: out }',
              ...warm(mode),
              ...vmLines(vm.name, mode),
              '',
            ].join('\n'),
          )
          const r = await runCli(['migrate', 'plan.yaml'], { dataDir: join(dir, 'data'), cwd: dir, env })
          expect(r.code, r.stdout + r.stderr).toBe(0)
          expect(r.stderr).not.toMatch(/error/i)
          if (mode !== 'snapshot') expect(r.stdout).toMatch(/downtime \d/)
          const flat = await checkSource(vm.ref, mode)
          execFileSync('qemu-img', ['compare', '-q', '-f', 'raw', '-F', 'qcow2', flat, join(dir, 'out', vm.name, `${vm.name}-disk0.qcow2`)])
        },
        TIMEOUT,
      )
    }
  })

  if (openstack.labAvailable()) {
    describe('vmware (vcsimx) → openstack, every mode', () => {
      const client = openstack.labClient()
      for (const mode of ['cold', 'snapshot', 'warm'] as const) {
        it(
          `${mode}: an ACTIVE server whose image equals the source disk`,
          async () => {
            const vm = await labVm(`o${mode}`)
            const dir = tempDir(`guts-${mode}-openstack-`)
            writeFileSync(
              join(dir, 'plan.yaml'),
              [
                'version: 1',
                `name: ${mode}-openstack`,
                ...source,
                `destination: { driver: openstack, cloud: ${openstack.cloud}, bootFrom: image }`,
                'defaults: { flavor: auto, networks: [{ from: "VM Network", to: lab-net, keepMac: false }] }',
                ...warm(mode),
                ...vmLines(vm.name, mode),
                '',
              ].join('\n'),
            )
            const r = await runCli(['migrate', 'plan.yaml', '--json'], { dataDir: join(dir, 'data'), cwd: dir, env })
            expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' })
            const { report } = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
              report: { id: string; vms: { instance: { id: string; data: { images: Record<string, string> } } }[] }
            }
            const instance = report.vms[0]!.instance
            expect((await client.nova.server(instance.id))?.status).toBe('ACTIVE')
            const flat = await checkSource(vm.ref, mode)
            const landed = join(dir, 'landed')
            const imageId = Object.values(instance.data.images)[0]!
            await client.glance.download(imageId, landed)
            execFileSync('qemu-img', [
              'compare',
              '-q',
              '-f',
              'raw',
              '-F',
              String((await client.glance.get(imageId))!.disk_format),
              flat,
              landed,
            ])
            // Leave the lab as it was: delete what the migration made (found by its mark).
            await client.nova.deleteAndWait(instance.id, 120_000)
            const tag = `guts:${report.id}`.slice(0, 60)
            for (const p of await client.neutron.findPortsByTag(tag)) await client.neutron.deletePort(p.id)
            for (const i of await client.glance.findByTag(tag)) await client.glance.delete(i.id)
          },
          TIMEOUT,
        )
      }
    })
  }
}
