import { GutsError, isGutsError, type DriverContext, type InstanceRef } from '@guts/sdk'
import type { OpenStackClient } from './client/index.js'
import type { BlockDevice, Server } from './client/nova.js'
import type { Port } from './client/neutron.js'
import { activeImage } from './disks.js'
import { resolveFlavor } from './flavor.js'
import { markMetadata, markTag, rootDiskGiB, sourceTag, type OpenStackSessionData, type SessionNic } from './session.js'

const BOOT_TIMEOUT_MS = 30 * 60_000

/**
 * Creates (or finds, when re-run) the ports and the server, and waits for ACTIVE. The flavor and
 * every disk are checked before anything is created, so an unknown flavor leaves nothing behind.
 */
export async function bootServer(
  client: OpenStackClient,
  data: OpenStackSessionData,
  vmName: string,
  ctx: DriverContext,
): Promise<InstanceRef> {
  const marks = markMetadata(data.mark, data.sourceVmId)
  const existing = (await client.nova.findServers(data.serverName, { 'guts-migration': data.mark }, ctx.signal))[0]
  if (existing && existing.status !== 'ERROR') {
    ctx.log.info('openstack: server exists from an earlier attempt', { server: existing.id })
    return instanceRef(
      await client.nova.waitActive(existing.id, BOOT_TIMEOUT_MS, ctx.signal),
      data,
      await imageIds(client, data, ctx.signal),
    )
  }
  if (existing) {
    ctx.log.warn('openstack: deleting a server that failed in an earlier attempt', { server: existing.id, fault: existing.fault?.message })
    await client.nova.deleteAndWait(existing.id, 10 * 60_000, ctx.signal)
  }

  const resolved = resolveFlavor(await client.nova.flavors(ctx.signal), data.flavor, {
    vcpus: data.cpus,
    ramMiB: data.memoryMiB,
    diskGiB: rootDiskGiB(data),
  })
  if ('problem' in resolved)
    throw new GutsError('GUTS_NOT_FOUND', `${vmName}: ${resolved.problem}`, {
      ref: vmName,
      suggestions: ['Set flavor to an existing flavor, or to auto.'],
    })
  const blockDevices = await blockDeviceMapping(client, data, ctx.signal)

  const portIds: string[] = []
  for (const nic of data.nics) {
    if (!nic.network) {
      ctx.log.warn('openstack: NIC has no network mapping, left out', { nic: nic.id })
      continue
    }
    portIds.push((await ensurePort(client, data, { ...nic, network: nic.network }, ctx)).id)
  }

  await ctx.recordUndo({ kind: 'server', ref: data.serverName, data: { mark: data.mark } })
  const bootImage = data.bootFrom === 'image' ? blockDevices[0]?.uuid : undefined
  const created = await client.nova.createServer(
    {
      name: data.serverName,
      flavorId: resolved.flavor.id,
      ...(bootImage ? { imageId: bootImage } : {}),
      blockDevices,
      portIds,
      metadata: marks,
      ...(data.keyPair ? { keyName: data.keyPair } : {}),
      ...(data.availabilityZone ? { availabilityZone: data.availabilityZone } : {}),
    },
    ctx.signal,
  )
  ctx.log.info('openstack: server created', { server: created.id, flavor: resolved.flavor.name })
  return instanceRef(await client.nova.waitActive(created.id, BOOT_TIMEOUT_MS, ctx.signal), data, await imageIds(client, data, ctx.signal))
}

/** Disk id → Glance image id, for the InstanceRef (reading a disk back, reports). */
async function imageIds(client: OpenStackClient, data: OpenStackSessionData, signal: AbortSignal): Promise<Record<string, string>> {
  const ids: Record<string, string> = {}
  for (const disk of data.disks) {
    const image = (await client.glance.findByName(disk.imageName, [markTag(data.mark)], signal))[0]
    if (image) ids[disk.id] = image.id
  }
  return ids
}

/** Boot disk first (image or volume), then data volumes in the source's disk order. */
async function blockDeviceMapping(client: OpenStackClient, data: OpenStackSessionData, signal: AbortSignal): Promise<BlockDevice[]> {
  const devices: BlockDevice[] = []
  for (const [position, disk] of data.disks.entries()) {
    const boot_index = position === 0 ? 0 : -1
    if (!disk.volumeName) {
      const image = await activeImage(client, data, disk, signal)
      devices.push({ boot_index, uuid: image.id, source_type: 'image', destination_type: 'local', delete_on_termination: true })
      continue
    }
    const volume = (await client.cinder.findByName(disk.volumeName, { 'guts-migration': data.mark }, signal))[0]
    if (!volume || volume.status !== 'available') {
      throw new GutsError(
        'GUTS_STATE_ERROR',
        `Volume ${disk.volumeName} for disk ${disk.id} is ${volume ? volume.status : 'missing'}; it must be available before boot.`,
        {
          suggestions: ['Resume the migration so the disk is committed again.'],
        },
      )
    }
    // Volumes outlive the server on purpose: they are the migrated VM's disks.
    devices.push({ boot_index, uuid: volume.id, source_type: 'volume', destination_type: 'volume', delete_on_termination: false })
  }
  return devices
}

/** One port per NIC on its mapped network, with the source MAC when keepMac (recorded first). */
async function ensurePort(
  client: OpenStackClient,
  data: OpenStackSessionData,
  nic: SessionNic & { network: string },
  ctx: DriverContext,
): Promise<Port> {
  const tag = markTag(data.mark)
  await ctx.recordUndo({ kind: 'port', ref: nic.portName, data: { mark: data.mark } })
  const existing = (await client.neutron.findPorts(nic.portName, tag, ctx.signal))[0]
  if (existing) return existing
  const network = await client.neutron.network(nic.network, ctx.signal)
  if (!network)
    throw new GutsError('GUTS_NOT_FOUND', `Neutron network "${nic.network}" (for NIC ${nic.id}) does not exist.`, {
      suggestions: ['Fix the network mapping in the plan.'],
    })
  let securityGroupIds: string[] | undefined
  if (data.securityGroups) {
    const groups = await client.neutron.securityGroups(data.securityGroups, await client.http.projectId(ctx.signal), ctx.signal)
    if (groups.missing.length)
      throw new GutsError('GUTS_NOT_FOUND', `Security group(s) ${groups.missing.join(', ')} do not exist in the project.`)
    securityGroupIds = groups.ids
  }
  return client.neutron
    .createPort(
      {
        name: nic.portName,
        networkId: network.id,
        description: `guts: NIC ${nic.id} of ${data.serverName} (migration ${data.mark})`,
        tags: ['guts', tag, sourceTag(data.sourceVmId)],
        ...(nic.keepMac ? { macAddress: nic.mac } : {}),
        ...(nic.fixedIp ? { fixedIps: [{ ip_address: nic.fixedIp }] } : {}),
        ...(securityGroupIds ? { securityGroupIds } : {}),
      },
      ctx.signal,
    )
    .catch((error: unknown) => {
      if (isGutsError(error) && /mac_address/.test(error.message)) {
        throw new GutsError(
          error.code,
          `NIC ${nic.id}: Neutron does not let this user keep MAC ${nic.mac} on network "${nic.network}". ${error.message}`,
          {
            cause: error,
            suggestions: ['Set keepMac: false for this network, map it to a network of this project, or use admin credentials.'],
          },
        )
      }
      if (isGutsError(error) && /MacAddressInUse|mac address .* in use/i.test(error.message)) {
        throw new GutsError(
          'GUTS_CONFLICT',
          `NIC ${nic.id}: MAC ${nic.mac} is already used by another port on network "${nic.network}". ${error.message}`,
          {
            cause: error,
            suggestions: ['Delete the other port (the source VM may already be migrated), or set keepMac: false.'],
          },
        )
      }
      throw error
    })
}

function instanceRef(server: Server, data: OpenStackSessionData, images: Record<string, string>): InstanceRef {
  return {
    id: server.id,
    data: {
      name: server.name,
      status: server.status,
      flavor: server.flavor?.original_name ?? server.flavor?.id ?? null,
      bootFrom: data.bootFrom,
      volumes: (server['os-extended-volumes:volumes_attached'] ?? []).map((v) => v.id),
      images,
    },
  }
}
