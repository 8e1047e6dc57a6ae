import { GutsError } from '@guts/sdk'
import type { OpenStackHttp } from './http.js'

export interface Network {
  id: string
  name: string
  status: string
  subnets: string[]
  shared?: boolean
  project_id?: string
}

export interface Subnet {
  id: string
  name: string
  network_id: string
  cidr: string
  ip_version: number
}

export interface Port {
  id: string
  name: string
  network_id: string
  mac_address: string
  fixed_ips: { subnet_id: string; ip_address: string }[]
  device_id: string
  device_owner?: string
  status: string
  description?: string
  tags?: string[]
  security_groups?: string[]
  'binding:vif_type'?: string
}

export interface QuotaDetail {
  limit: number
  used: number
  reserved: number
}

const opt = (signal?: AbortSignal) => (signal ? { signal } : {})
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Neutron v2.0: networks, subnets, security groups and the ports guts creates. */
export class Neutron {
  constructor(private readonly http: OpenStackHttp) {}

  /** A network by id or name; a name that several networks share is an error, not a guess. */
  async network(nameOrId: string, signal?: AbortSignal): Promise<Network | undefined> {
    if (UUID.test(nameOrId)) {
      const r = await this.http.request<{ network: Network }>('network', 'GET', `/networks/${nameOrId}`, { accept: [404], ...opt(signal) })
      if (r.status !== 404) return r.body.network
    }
    const found = await this.http.list<Network>('network', '/networks', 'networks', { query: { name: nameOrId }, ...opt(signal) })
    if (found.length > 1) {
      throw new GutsError(
        'GUTS_CONFLICT',
        `${found.length} Neutron networks are named "${nameOrId}" (${found.map((n) => n.id).join(', ')}); map the source network to one of them by id.`,
      )
    }
    return found[0]
  }

  async subnet(nameOrId: string, signal?: AbortSignal): Promise<Subnet | undefined> {
    const found = await this.http.list<Subnet>('network', '/subnets', 'subnets', {
      query: UUID.test(nameOrId) ? { id: nameOrId } : { name: nameOrId },
      ...opt(signal),
    })
    return found[0]
  }

  async subnetsOf(networkId: string, signal?: AbortSignal): Promise<Subnet[]> {
    return this.http.list<Subnet>('network', '/subnets', 'subnets', { query: { network_id: networkId }, ...opt(signal) })
  }

  /** Security group ids for names or ids, in this project; unknown ones are listed in `missing`. */
  async securityGroups(
    namesOrIds: readonly string[],
    projectId: string,
    signal?: AbortSignal,
  ): Promise<{ ids: string[]; missing: string[] }> {
    const all = await this.http.list<{ id: string; name: string; project_id?: string }>('network', '/security-groups', 'security_groups', {
      query: { project_id: projectId },
      ...opt(signal),
    })
    const ids: string[] = []
    const missing: string[] = []
    for (const want of namesOrIds) {
      const hit = all.filter((g) => g.id === want || g.name === want)
      if (hit.length === 1 && hit[0]) ids.push(hit[0].id)
      else if (hit.length > 1) throw new GutsError('GUTS_CONFLICT', `Several security groups are named "${want}"; give its id instead.`)
      else missing.push(want)
    }
    return { ids, missing }
  }

  async createPort(
    o: {
      name: string
      networkId: string
      macAddress?: string
      fixedIps?: { ip_address: string; subnet_id?: string }[]
      securityGroupIds?: string[]
      description: string
      tags: string[]
    },
    signal?: AbortSignal,
  ): Promise<Port> {
    const body = {
      port: {
        name: o.name,
        network_id: o.networkId,
        description: o.description,
        admin_state_up: true,
        ...(o.macAddress ? { mac_address: o.macAddress } : {}),
        ...(o.fixedIps?.length ? { fixed_ips: o.fixedIps } : {}),
        ...(o.securityGroupIds ? { security_groups: o.securityGroupIds } : {}),
      },
    }
    const port = (await this.http.request<{ port: Port }>('network', 'POST', '/ports', { body, ...opt(signal) })).body.port
    // Tags in the create body need an extension not every cloud has; the tags API is universal.
    if (o.tags.length) {
      await this.http.request('network', 'PUT', `/ports/${port.id}/tags`, { body: { tags: o.tags }, ...opt(signal) })
      port.tags = o.tags
    }
    return port
  }

  async port(id: string, signal?: AbortSignal): Promise<Port | undefined> {
    const r = await this.http.request<{ port: Port }>('network', 'GET', `/ports/${id}`, { accept: [404], ...opt(signal) })
    return r.status === 404 ? undefined : r.body.port
  }

  /** Ports with this name carrying `tag` (the migration mark). */
  async findPorts(name: string, tag: string, signal?: AbortSignal): Promise<Port[]> {
    const ports = await this.http.list<Port>('network', '/ports', 'ports', { query: { name, tags: tag }, ...opt(signal) })
    return ports.filter((p) => p.name === name && (p.tags ?? []).includes(tag))
  }

  /** Ports on a network holding this MAC, or this fixed IP (each is unique per network). */
  async portsUsing(networkId: string, what: { mac?: string; ip?: string }, signal?: AbortSignal): Promise<Port[]> {
    const query: Record<string, string> = { network_id: networkId }
    if (what.mac) query.mac_address = what.mac
    if (what.ip) query.fixed_ips = `ip_address=${what.ip}`
    return this.http.list<Port>('network', '/ports', 'ports', { query, ...opt(signal) })
  }

  async findPortsByTag(tag: string, signal?: AbortSignal): Promise<Port[]> {
    return this.http.list<Port>('network', '/ports', 'ports', { query: { tags: tag }, ...opt(signal) })
  }

  async portsOfDevice(deviceId: string, signal?: AbortSignal): Promise<Port[]> {
    return this.http.list<Port>('network', '/ports', 'ports', { query: { device_id: deviceId }, ...opt(signal) })
  }

  async deletePort(id: string, signal?: AbortSignal): Promise<void> {
    await this.http.request('network', 'DELETE', `/ports/${id}`, { accept: [404], ...opt(signal) })
  }

  /** Port quota with usage; `undefined` when the quota-details extension is missing. */
  async portQuota(projectId: string, signal?: AbortSignal): Promise<QuotaDetail | undefined> {
    const r = await this.http.request<{ quota?: { port?: QuotaDetail } }>('network', 'GET', `/quotas/${projectId}/details.json`, {
      accept: [404],
      ...opt(signal),
    })
    return r.status === 404 ? undefined : r.body.quota?.port
  }
}
