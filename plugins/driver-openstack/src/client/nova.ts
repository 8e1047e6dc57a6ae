import { GutsError, poll } from '@guts/sdk'
import type { OpenStackHttp } from './http.js'

export interface Flavor {
  id: string
  name: string
  vcpus: number
  ram: number
  disk: number
  'OS-FLV-DISABLED:disabled'?: boolean
  'os-flavor-access:is_public'?: boolean
}

export interface Server {
  id: string
  name: string
  status: string
  metadata: Record<string, string>
  flavor?: { id?: string; original_name?: string; vcpus?: number; ram?: number; disk?: number }
  fault?: { message?: string; details?: string; code?: number }
  'os-extended-volumes:volumes_attached'?: { id: string }[]
}

/** One entry of block_device_mapping_v2. */
export interface BlockDevice {
  boot_index: number
  uuid: string
  source_type: 'image' | 'volume'
  destination_type: 'local' | 'volume'
  delete_on_termination: boolean
  volume_size?: number
}

export interface ComputeLimits {
  maxTotalInstances: number
  totalInstancesUsed: number
  maxTotalCores: number
  totalCoresUsed: number
  maxTotalRAMSize: number
  totalRAMUsed: number
}

const opt = (signal?: AbortSignal) => (signal ? { signal } : {})

/** Nova (compute 2.67): flavors, key pairs, servers, limits. */
export class Nova {
  constructor(private readonly http: OpenStackHttp) {}

  async flavors(signal?: AbortSignal): Promise<Flavor[]> {
    return this.http.list<Flavor>('compute', '/flavors/detail', 'flavors', opt(signal))
  }

  async keyPairExists(name: string, signal?: AbortSignal): Promise<boolean> {
    const r = await this.http.request('compute', 'GET', `/os-keypairs/${encodeURIComponent(name)}`, { accept: [404], ...opt(signal) })
    return r.status !== 404
  }

  async limits(signal?: AbortSignal): Promise<ComputeLimits> {
    return (await this.http.request<{ limits: { absolute: ComputeLimits } }>('compute', 'GET', '/limits', opt(signal))).body.limits.absolute
  }

  async availabilityZones(signal?: AbortSignal): Promise<string[]> {
    const r = await this.http.request<{ availabilityZoneInfo: { zoneName: string; zoneState: { available: boolean } }[] }>(
      'compute',
      'GET',
      '/os-availability-zone',
      opt(signal),
    )
    return r.body.availabilityZoneInfo.filter((z) => z.zoneState.available).map((z) => z.zoneName)
  }

  async createServer(
    o: {
      name: string
      flavorId: string
      imageId?: string
      blockDevices: BlockDevice[]
      portIds: string[]
      metadata: Record<string, string>
      keyName?: string
      availabilityZone?: string
    },
    signal?: AbortSignal,
  ): Promise<{ id: string }> {
    const server = {
      name: o.name,
      flavorRef: o.flavorId,
      // Boot from volume takes no imageRef; Nova wants the key to be absent or empty.
      imageRef: o.imageId ?? '',
      block_device_mapping_v2: o.blockDevices,
      // Since 2.37 `networks` is required; 'none' is the explicit "no NIC".
      networks: o.portIds.length ? o.portIds.map((port) => ({ port })) : 'none',
      metadata: o.metadata,
      ...(o.keyName ? { key_name: o.keyName } : {}),
      ...(o.availabilityZone ? { availability_zone: o.availabilityZone } : {}),
    }
    return (await this.http.request<{ server: { id: string } }>('compute', 'POST', '/servers', { body: { server }, ...opt(signal) })).body
      .server
  }

  async server(id: string, signal?: AbortSignal): Promise<Server | undefined> {
    const r = await this.http.request<{ server: Server }>('compute', 'GET', `/servers/${id}`, { accept: [404], ...opt(signal) })
    return r.status === 404 ? undefined : r.body.server
  }

  /** Servers named exactly `name` whose metadata has every key/value of `marks`. */
  async findServers(name: string, marks: Record<string, string>, signal?: AbortSignal): Promise<Server[]> {
    // Nova's name filter is a regex: anchor and escape it, then compare exactly anyway.
    const pattern = `^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`
    const servers = await this.http.list<Server>('compute', '/servers/detail', 'servers', { query: { name: pattern }, ...opt(signal) })
    return servers.filter((s) => s.name === name && Object.entries(marks).every(([k, v]) => s.metadata?.[k] === v))
  }

  /** The project's servers whose metadata has every key/value of `marks` (leftover search). */
  async findByMetadata(marks: Record<string, string>, signal?: AbortSignal): Promise<Server[]> {
    // Nova cannot filter by metadata: list the project's servers and filter here.
    const servers = await this.http.list<Server>('compute', '/servers/detail', 'servers', opt(signal))
    return servers.filter((s) => Object.entries(marks).every(([k, v]) => s.metadata?.[k] === v))
  }

  /** Waits for ACTIVE; ERROR becomes a GutsError carrying Nova's fault message. */
  async waitActive(id: string, timeoutMs: number, signal?: AbortSignal): Promise<Server> {
    return poll(
      async () => {
        const s = await this.server(id, signal)
        if (!s) throw new GutsError('GUTS_NOT_FOUND', `Server ${id} disappeared while guts waited for it to boot.`)
        if (s.status === 'ACTIVE') return s
        if (s.status === 'ERROR') {
          const fault = s.fault?.message ? `: ${s.fault.message}` : ''
          const hint = /PortBindingFailed|binding/i.test(fault)
            ? ['Neutron could not bind a port: check the network type and the agents on the compute host.']
            : []
          throw new GutsError('GUTS_DRIVER_ERROR', `Server ${s.name} (${id}) went to ERROR${fault}`, {
            suggestions: hint,
            details: { openstack: { fault: s.fault?.message ?? null } },
          })
        }
        return undefined
      },
      { what: `server ${id} to become ACTIVE`, timeoutMs, ...opt(signal) },
    )
  }

  /** Deletes a server and waits until Nova no longer lists it. */
  async deleteAndWait(id: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    await this.http.request('compute', 'DELETE', `/servers/${id}`, { accept: [404], ...opt(signal) })
    await poll(async () => ((await this.server(id, signal)) ? undefined : true), {
      what: `server ${id} to be deleted`,
      timeoutMs,
      ...opt(signal),
    })
  }
}
