import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { Readable } from 'node:stream'
import { tempDir } from '../helpers/cli.js'
import { afterAll, describe, expect, it } from 'vitest'
import { createMigrationService } from '../../src/core/service.js'
import { openStateStore } from '../../src/core/state/open-store.js'
import { registryWith } from '../helpers/lab-registry.js'
import { cloud, labAvailable, labClient, leftovers, randomMac, writeRawDisk } from './openstack-lab.js'

/**
 * `guts migration cleanup` against the lab, through the service: resources a crashed run left with
 * no undo entry in the store (created here directly with the client, carrying the driver's marks)
 * are found by their marks and deleted — and a resource of another VM of the same migration is not.
 */
const TIMEOUT = 300_000

if (labAvailable()) {
  const run = randomBytes(3).toString('hex')
  const dir = tempDir('guts-openstack-cleanup-')
  const client = labClient()
  const registry = registryWith('openstack')
  const vmName = `cl-${run}`
  const created: { kind: string; id: string }[] = []
  afterAll(async () => {
    // Whatever the test left (a failure midway): delete only what this file created.
    for (const r of created.reverse()) {
      if (r.kind === 'server') await client.nova.deleteAndWait(r.id, 120_000).catch(() => undefined)
      if (r.kind === 'port') await client.neutron.deletePort(r.id).catch(() => undefined)
      if (r.kind === 'volume') await client.cinder.deleteAndWait(r.id, 120_000).catch(() => undefined)
      if (r.kind === 'image') await client.glance.delete(r.id).catch(() => undefined)
    }
    await client.close()
  })

  describe('openstack lab: cleanup finds leftovers by their marks', () => {
    it(
      'deletes the server, port, volume and image a crashed run left unrecorded',
      async () => {
        const disk = writeRawDisk(join(dir, 'disk0.raw'), vmName)
        const planText = `version: 1
name: cleanup-${run}
source:
  driver: files
  vms: [{ name: ${vmName}, disks: [{ path: ${disk.path}, format: raw }], cpus: 1, memoryMiB: 512, nics: [{ mac: "${randomMac()}", network: Front }] }]
destination: { driver: openstack, cloud: ${cloud} }
defaults:
  networks: [{ from: Front, to: lab-net, keepMac: true }]
vms:
  - name: ${vmName}
    flavor: guts-no-such-flavor
`
        const store = await openStateStore({ url: 'sqlite::memory:' })
        const service = createMigrationService({ registry, store, workRoot: join(dir, 'work') })
        const m = await service.createMigration(planText, join(dir, 'plan.yaml'))
        // Preflight refuses the flavor: the VM is failed with its job recorded, and nothing was made.
        expect((await service.runMigration(m.id)).status).toBe('failed')
        expect(await store.listUndo(m.id, vmName, { pendingOnly: true })).toEqual([])

        // What a run killed between creating and recording leaves: the driver's marks, no undo entry.
        const tag = `guts:${m.id}`
        const prefix = `guts-${m.id.slice(0, 8)}-${vmName}`
        const net = (await client.neutron.network('lab-net'))!
        const image = await client.glance.create({
          name: `${prefix}-disk0`,
          diskFormat: 'raw',
          tags: ['guts', tag],
          properties: { guts_migration: m.id, guts_source_vm: vmName },
        })
        created.push({ kind: 'image', id: image.id })
        const sink = await client.glance.uploadSink(image.id, AbortSignal.timeout(60_000))
        await pipeline(Readable.from([Buffer.alloc(1024 * 1024)]), sink)
        await client.glance.waitActive(image.id, 60_000)
        const marks = { 'guts-migration': m.id, 'guts-source-vm': vmName }
        const volume = await client.cinder.createFromImage({ name: `${prefix}-disk1`, sizeGiB: 1, imageId: image.id, metadata: marks })
        created.push({ kind: 'volume', id: volume.id })
        await client.cinder.waitAvailable(volume.id, 120_000)
        const port = await client.neutron.createPort({
          name: `${prefix}-nic0`,
          networkId: net.id,
          description: 'guts cleanup test',
          tags: ['guts', tag, `guts-vm:${vmName}`],
        })
        created.push({ kind: 'port', id: port.id })
        // Another VM of the same migration (it may have succeeded): cleanup of this VM must spare it.
        const other = await client.neutron.createPort({
          name: `guts-${m.id.slice(0, 8)}-other-${run}-nic0`,
          networkId: net.id,
          description: 'guts cleanup test',
          tags: ['guts', tag, `guts-vm:other-${run}`],
        })
        created.push({ kind: 'port', id: other.id })
        const flavor = (await client.nova.flavors()).find((f) => f.name === 'm1.tiny')!
        const server = await client.nova.createServer({
          name: vmName,
          flavorId: flavor.id,
          imageId: image.id,
          blockDevices: [],
          portIds: [port.id],
          metadata: marks,
        })
        created.push({ kind: 'server', id: server.id })
        await client.nova.waitActive(server.id, 120_000)

        const result = await service.cleanup(m.id)
        expect(result).toMatchObject({ cleaned: [vmName], failed: [] })
        expect(await client.nova.server(server.id)).toBeUndefined()
        expect(await client.neutron.port(port.id)).toBeUndefined()
        expect(await client.cinder.get(volume.id)).toBeUndefined()
        expect(await client.glance.get(image.id)).toBeUndefined()
        expect(await client.neutron.port(other.id)).toMatchObject({ id: other.id })
        expect(await leftovers(client, m.id, vmName)).toEqual([`port guts-${m.id.slice(0, 8)}-other-${run}-nic0`])
        // Idempotent: nothing more to find.
        expect((await service.cleanup(m.id)).cleaned).toEqual([])
      },
      TIMEOUT,
    )
  })
}
