import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { labGate } from '../helpers/lab-gate.js'
import { silentLogger, type DiskDescriptor, type InstanceRef } from '@guts/sdk'
import { OpenStackClient, loadCloudConfig } from '@guts/driver-openstack/testing'

/**
 * Shared by the OpenStack lab tests. They run only when GUTS_LAB_OPENSTACK names the lab's
 * clouds.yaml; in CI (CI set) a missing lab registers a failing test instead of a silent skip.
 * GUTS_LAB_OPENSTACK_CLOUD picks the cloud (default lab-admin: keeping a MAC on the shared
 * lab-net takes the network owner or admin).
 */
export const lab = process.env.GUTS_LAB_OPENSTACK
export const cloud = process.env.GUTS_LAB_OPENSTACK_CLOUD ?? 'lab-admin'

/** Registers the "no lab" outcome; returns true when the real tests should be registered. */
export function labAvailable(): boolean {
  if (
    !labGate({
      lab: 'openstack lab',
      variable: 'GUTS_LAB_OPENSTACK',
      value: lab,
      start: 'start the lab (test/lab/openstack-lab.sh up) and export GUTS_LAB_OPENSTACK=<state dir>/clouds.yaml',
    })
  )
    return false
  // How users point guts at a clouds.yaml: the driver reads it like openstacksdk does.
  process.env.OS_CLIENT_CONFIG_FILE = lab
  return true
}

export function labClient(): OpenStackClient {
  return new OpenStackClient(loadCloudConfig({ cloud }), silentLogger)
}

/**
 * For the pipeline suite's content comparison: a landed disk read back from the Glance image the
 * instance names for it (volumes are made from that image), into `dir`.
 */
export function glanceReadBack(client: OpenStackClient, dir: string) {
  return async (instance: InstanceRef, disk: DiskDescriptor): Promise<{ path: string; format: 'raw' | 'qcow2' }> => {
    const id = (instance.data.images as Record<string, string>)[disk.id]
    if (!id) throw new Error(`the InstanceRef names no image for ${disk.id}`)
    const image = await client.glance.get(id)
    const path = join(dir, `readback-${id}`)
    await client.glance.download(id, path)
    return { path, format: (image?.disk_format ?? 'raw') as 'raw' | 'qcow2' }
  }
}

/** A random MAC in OpenStack's own fa:16:3e range, so reruns never collide on lab-net. */
export function randomMac(): string {
  return `fa:16:3e:${randomBytes(3).toString('hex').match(/../g)!.join(':')}`
}

/** A raw disk of `bytes` with recognisable content at both ends. */
export function writeRawDisk(path: string, label: string, bytes = 1024 * 1024): { path: string; format: 'raw' } {
  const data = Buffer.alloc(bytes)
  data.write(`guts ${label}`, 0)
  data.write('tail', bytes - 8)
  writeFileSync(path, data)
  return { path, format: 'raw' }
}

/** Everything in the lab that carries a migration's mark. */
export async function leftovers(client: OpenStackClient, mark: string, serverName: string): Promise<string[]> {
  const tag = `guts:${mark}`.slice(0, 60)
  const images = await client.glance.findByTag(tag)
  const volumes = await client.cinder.findByMetadata({ 'guts-migration': mark })
  const ports = await client.neutron.findPortsByTag(tag)
  const servers = await client.nova.findServers(serverName, { 'guts-migration': mark })
  return [
    ...images.map((i) => `image ${i.name}`),
    ...volumes.map((v) => `volume ${v.name}`),
    ...ports.map((p) => `port ${p.name}`),
    ...servers.map((s) => `server ${s.name}`),
  ]
}

/**
 * Deletes what a migration made in the lab (its server, then the ports, volumes and images carrying
 * its marks), waiting for each, so a test leaves the cloud as it found it.
 */
export async function deleteMigrationResources(client: OpenStackClient, migrationId: string, serverId?: string): Promise<void> {
  if (serverId) await client.nova.deleteAndWait(serverId, 120_000)
  const tag = `guts:${migrationId}`.slice(0, 60)
  for (const p of await client.neutron.findPortsByTag(tag)) await client.neutron.deletePort(p.id)
  for (const v of await client.cinder.findByMetadata({ 'guts-migration': migrationId })) await client.cinder.deleteAndWait(v.id, 120_000)
  for (const i of await client.glance.findByTag(tag)) await client.glance.delete(i.id)
}

/** Where the lab's Cinder keeps a volume: a sparse raw file (GiB-rounded). */
export function volumeFile(id: string): string {
  return join(process.env.GUTS_LAB_STATE ?? '/var/tmp/guts-lab/openstack', 'lib/cinder/volumes', `volume-${id}`)
}
