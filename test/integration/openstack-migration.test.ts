import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { tempDir } from '../helpers/cli.js'
import { afterAll, describe, expect, it } from 'vitest'
import type { DestinationDriver, DriverContext, ImportSession, InstanceRef, TargetMapping, VmDescriptor } from '@guts/sdk'
import { createTestContext, exportOptionsFor, testMapping, testVm, type TestContext } from '@guts/sdk/testing'
import { OpenStackDestination } from '@guts/driver-openstack/testing'
import files from '../../src/drivers/files/index.js'
import { engineTransfer } from '../../src/testing.js'
import { cloud, labAvailable, labClient, leftovers, randomMac, writeRawDisk } from './openstack-lab.js'

/**
 * Issue 3's "done means" against the lab: a 2-disk, 2-NIC UEFI VM from the files source lands as
 * an ACTIVE server (bootFrom image and volume) with the right flavor, MACs, volume order, image
 * properties and content; a failure after the volumes exist rolls back to nothing and the same
 * plan then succeeds; bad credentials, networks and quotas are preflight findings.
 */
const TIMEOUT = 300_000

if (labAvailable()) {
  const run = randomBytes(3).toString('hex')
  const dir = tempDir('guts-openstack-mig-')
  const client = labClient()
  afterAll(() => client.close())

  /** files source with one VM: two 1 MiB raw disks, two NICs, UEFI, Linux. */
  function source(vmName: string) {
    const disks = [0, 1].map((i) => writeRawDisk(join(dir, `${vmName}-disk${i}.raw`), `${vmName} disk ${i}`))
    const macs = [randomMac(), randomMac()]
    const driver = files.create({
      vms: [
        {
          name: vmName,
          disks,
          cpus: 1,
          memoryMiB: 512,
          firmware: 'uefi',
          os: 'linux',
          nics: [
            { mac: macs[0], network: 'Front' },
            { mac: macs[1], network: 'Back' },
          ],
        },
      ],
    })
    return { driver, disks, macs }
  }

  function mappingFor(name: string, mark: string, overrides: Partial<TargetMapping> = {}): TargetMapping {
    return testMapping({
      name,
      flavor: 'auto',
      tags: { 'guts-migration': mark, 'guts-source-vm': name },
      networks: [
        { from: 'Front', to: 'lab-net', keepMac: true },
        { from: 'Back', to: 'lab-net', keepMac: true },
      ],
      ...overrides,
    })
  }

  /** The core's order of calls, up to boot. */
  async function migrate(
    vmName: string,
    dst: DestinationDriver,
    mapping: TargetMapping,
    ctx: DriverContext,
  ): Promise<{ vm: VmDescriptor; session: ImportSession; instance: InstanceRef }> {
    const src = await source(vmName).driver
    await src.connect(ctx)
    await dst.connect(ctx)
    const vm = await src.describeVm({ id: vmName, name: vmName }, ctx)
    expect((await dst.preflight(vm, mapping, ctx)).filter((f) => f.severity === 'error')).toEqual([])
    const exported = await src.beginExport(vm, exportOptionsFor(src), ctx)
    const session = JSON.parse(JSON.stringify(await dst.beginImport(vm, mapping, ctx))) as ImportSession
    try {
      for (const disk of vm.disks) {
        const from = await src.openDisk(exported, disk.id, ctx)
        const target = await dst.openDiskTarget(session, disk, ctx)
        const moved = await engineTransfer({ disk, source: from, target, workDir: ctx.workDir, signal: ctx.signal })
        await dst.commitDisk(session, disk, moved, ctx)
        await from.close?.()
      }
      return { vm, session, instance: await dst.boot(session, ctx) }
    } finally {
      await src.endExport(exported, 'succeeded', ctx)
      await src.dispose()
    }
  }

  for (const bootFrom of ['image', 'volume'] as const) {
    describe(`openstack lab: files → openstack, bootFrom ${bootFrom}`, () => {
      const vmName = `mig-${bootFrom}-${run}`
      const mark = `it${run}${bootFrom[0]}`
      const mapping = mappingFor(vmName, mark)
      const dst = new OpenStackDestination({ cloud, bootFrom })
      const ctx: TestContext = createTestContext()
      afterAll(async () => {
        await dst.rollback(undefined, ctx.undoNewestFirst(), ctx).catch(() => undefined)
        await dst.dispose()
        await ctx.cleanup()
      })

      it(
        'lands as an ACTIVE server with the right flavor, MACs, volumes, properties and content',
        async () => {
          const { vm, session, instance } = await migrate(vmName, dst, mapping, ctx)
          expect(await dst.verify(session, instance, ctx)).toEqual([])
          // boot again (a resumed migration): the same server, not a second one.
          expect((await dst.boot(session, ctx)).id).toBe(instance.id)
          const server = (await client.nova.server(instance.id))!
          expect(server.status).toBe('ACTIVE')
          expect(server.flavor?.original_name).toBe('m1.tiny')
          expect(server.metadata).toMatchObject({ 'guts-migration': mark, 'guts-source-vm': vmName })

          const ports = (await client.neutron.portsOfDevice(server.id)).sort((a, b) => a.name.localeCompare(b.name))
          expect(ports.map((p) => p.mac_address)).toEqual(vm.nics.map((n) => n.mac))

          // Volumes attached in the source's disk order: Nova names them vda, vdb… (sda… on the fake driver) by boot order.
          const volumes = await Promise.all(
            (server['os-extended-volumes:volumes_attached'] ?? []).map(async (v) => (await client.cinder.get(v.id))!),
          )
          const device = (v: (typeof volumes)[number]): string => v.attachments?.[0]?.device ?? ''
          for (const v of volumes) expect(device(v)).toMatch(/^\/dev\/[sv]d[a-z]$/)
          const byDevice = volumes.sort((a, b) => device(a).localeCompare(device(b)))
          const expected = (bootFrom === 'volume' ? vm.disks : vm.disks.slice(1)).map((d) => d.id)
          expect(byDevice.map((v) => v.metadata['guts-disk'])).toEqual(expected)
          if (bootFrom === 'volume') expect(device(byDevice[0]!)).toMatch(/^\/dev\/[sv]da$/)

          const images = instance.data.images as Record<string, string>
          const boot = (await client.glance.get(images[vm.disks[0]!.id]!))!
          expect(boot).toMatchObject({
            hw_firmware_type: 'uefi',
            hw_machine_type: 'q35',
            hw_disk_bus: 'virtio',
            hw_vif_model: 'virtio',
            os_type: 'linux',
            min_ram: 512,
            min_disk: 1,
          })

          // Content: every image read back from Glance equals its source disk.
          const src = source(vmName)
          for (const [i, disk] of vm.disks.entries()) {
            const image = (await client.glance.get(images[disk.id]!))!
            const landed = join(dir, `${vmName}-landed-${i}`)
            await client.glance.download(image.id, landed)
            execFileSync('qemu-img', ['compare', '-q', '-f', 'raw', '-F', String(image.disk_format), src.disks[i]!.path, landed])
          }

          await dst.endImport(session, 'succeeded', ctx)
          const remaining = await client.glance.findByTag(`guts:${mark}`)
          expect(remaining.length).toBe(bootFrom === 'image' ? 1 : 0)
        },
        TIMEOUT,
      )

      it(
        'rollback deletes every image, volume, port and server it recorded',
        async () => {
          await dst.rollback(undefined, ctx.undoNewestFirst(), ctx)
          expect(await leftovers(client, mark, vmName)).toEqual([])
        },
        TIMEOUT,
      )
    })
  }

  describe('openstack lab: a failure after the volumes exist', () => {
    const vmName = `mig-fail-${run}`
    const mark = `it${run}f`
    const mapping = mappingFor(vmName, mark)

    it(
      'rolls back to nothing, and the same plan then succeeds',
      async () => {
        const dst = new OpenStackDestination({ cloud, bootFrom: 'volume' })
        // Crash just before the server is created: images, volumes and ports exist by then.
        const failing = createTestContext({
          recordUndo: async (entry) => {
            if (entry.kind === 'server') throw new Error('injected failure before server create')
          },
        })
        const ok = createTestContext()
        try {
          await expect(migrate(vmName, dst, mapping, failing)).rejects.toThrow(/injected failure/)
          const made = await leftovers(client, mark, vmName)
          expect(made.filter((r) => r.startsWith('volume')).length).toBe(2)
          expect(made.filter((r) => r.startsWith('port')).length).toBe(2)
          await dst.rollback(undefined, failing.undoNewestFirst(), failing)
          expect(await leftovers(client, mark, vmName)).toEqual([])

          const { session, instance } = await migrate(vmName, dst, mapping, ok)
          expect(await dst.verify(session, instance, ok)).toEqual([])
        } finally {
          // Whatever failed above, the lab is left clean.
          await dst.rollback(undefined, failing.undoNewestFirst(), failing).catch(() => undefined)
          await dst.rollback(undefined, ok.undoNewestFirst(), ok)
          expect(await leftovers(client, mark, vmName)).toEqual([])
          await dst.dispose()
          await failing.cleanup()
          await ok.cleanup()
        }
      },
      TIMEOUT,
    )
  })

  describe('openstack lab: preflight stops bad plans before anything is created', () => {
    const vm = testVm({ nics: [{ id: 'nic-0', mac: randomMac(), network: 'Front' }] })
    const mapping = mappingFor(`pre-${run}`, `it${run}p`, { networks: [{ from: 'Front', to: 'lab-net', keepMac: true }] })
    const codes = async (options: object, m: TargetMapping, v: VmDescriptor = vm): Promise<string[]> => {
      const dst = new OpenStackDestination({ cloud, ...options })
      const ctx = createTestContext()
      try {
        const findings = await dst.preflight(v, m, ctx)
        for (const f of findings) expect(f.ref).toBe(v.name)
        return findings.filter((f) => f.severity === 'error').map((f) => `${f.code}: ${f.message}`)
      } finally {
        await dst.dispose()
        await ctx.cleanup()
      }
    }

    it(
      'a wrong password',
      async () => {
        const errors = await codes({ password: 'not-the-lab-password' }, mapping)
        expect(errors).toHaveLength(1)
        expect(errors[0]).toMatch(/^auth-failed: Keystone at http:\/\/127\.0\.0\.1:5000 rejected the credentials/)
        expect(errors[0]).not.toContain('not-the-lab-password')
      },
      TIMEOUT,
    )

    it(
      'an unknown network',
      async () => {
        const errors = await codes({}, { ...mapping, networks: [{ from: 'Front', to: 'no-such-net', keepMac: true }] })
        expect(errors).toEqual([expect.stringMatching(/^network-not-found: Neutron network "no-such-net"/)])
      },
      TIMEOUT,
    )

    it(
      'an exhausted quota (volume gigabytes)',
      async () => {
        const huge = testVm({ ...vm, disks: [{ id: 'disk-0', index: 0, virtualSize: 200 * 1024 ** 4, format: 'raw' }] })
        const errors = await codes({ bootFrom: 'volume' }, mapping, huge)
        expect(errors).toEqual([expect.stringMatching(/^quota-gigabytes: The project's gigabytes quota is exhausted: .* needs 204800 GiB/)])
      },
      TIMEOUT,
    )

    it(
      'a MAC or fixed IP another port on the network already holds',
      async () => {
        const net = (await client.neutron.network('lab-net'))!
        const other = await client.neutron.createPort({
          name: `guts-it-holder-${run}`,
          networkId: net.id,
          macAddress: vm.nics[0]!.mac,
          description: 'holds a MAC and an IP for a preflight test',
          tags: [],
        })
        try {
          const ip = other.fixed_ips[0]!.ip_address
          const errors = await codes({}, { ...mapping, networks: [{ from: 'Front', to: 'lab-net', keepMac: true, fixedIp: ip }] })
          expect(errors).toEqual([
            expect.stringMatching(
              new RegExp(
                `^mac-in-use: NIC nic-0 keeps MAC ${vm.nics[0]!.mac}, which port guts-it-holder-${run} already has on network "lab-net"`,
              ),
            ),
            expect.stringMatching(
              new RegExp(`^fixed-ip-in-use: NIC nic-0 asks for fixed IP ${ip.replace(/\./g, '\\.')}, which port guts-it-holder-${run}`),
            ),
          ])
          expect(await codes({}, { ...mapping, networks: [{ from: 'Front', to: 'lab-net', keepMac: false }] })).toEqual([])
        } finally {
          await client.neutron.deletePort(other.id)
        }
      },
      TIMEOUT,
    )

    it(
      'created nothing',
      async () => {
        expect(await leftovers(client, `it${run}p`, `pre-${run}`)).toEqual([])
      },
      TIMEOUT,
    )
  })
}
