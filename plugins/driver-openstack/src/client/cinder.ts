import { GutsError, poll } from '@guts/sdk'
import type { OpenStackHttp } from './http.js'

export interface Volume {
  id: string
  name: string
  status: string
  size: number
  metadata: Record<string, string>
  volume_type?: string
  attachments?: { server_id: string; device?: string }[]
}

export interface VolumeLimits {
  maxTotalVolumes: number
  totalVolumesUsed: number
  maxTotalVolumeGigabytes: number
  totalGigabytesUsed: number
}

/** Statuses a volume passes through on its own; deleting it then gets a 400. */
const TRANSITIONAL = new Set([
  'creating',
  'downloading',
  'attaching',
  'detaching',
  'deleting',
  'extending',
  'uploading',
  'reserved',
  'backing-up',
  'restoring-backup',
])

const opt = (signal?: AbortSignal) => (signal ? { signal } : {})

/** Cinder v3: volumes made from Glance images. */
export class Cinder {
  constructor(private readonly http: OpenStackHttp) {}

  async createFromImage(
    o: {
      name: string
      sizeGiB: number
      imageId: string
      volumeType?: string
      availabilityZone?: string
      description?: string
      metadata: Record<string, string>
    },
    signal?: AbortSignal,
  ): Promise<Volume> {
    const body = {
      volume: {
        name: o.name,
        size: o.sizeGiB,
        imageRef: o.imageId,
        metadata: o.metadata,
        ...(o.description ? { description: o.description } : {}),
        ...(o.volumeType ? { volume_type: o.volumeType } : {}),
        ...(o.availabilityZone ? { availability_zone: o.availabilityZone } : {}),
      },
    }
    return (await this.http.request<{ volume: Volume }>('volume', 'POST', '/volumes', { body, ...opt(signal) })).body.volume
  }

  async get(id: string, signal?: AbortSignal): Promise<Volume | undefined> {
    const r = await this.http.request<{ volume: Volume }>('volume', 'GET', `/volumes/${id}`, { accept: [404], ...opt(signal) })
    return r.status === 404 ? undefined : r.body.volume
  }

  /** Volumes with this name whose metadata has every key/value of `marks`. */
  async findByName(name: string, marks: Record<string, string>, signal?: AbortSignal): Promise<Volume[]> {
    const volumes = await this.http.list<Volume>('volume', '/volumes/detail', 'volumes', { query: { name }, ...opt(signal) })
    return volumes.filter((v) => v.name === name && matches(v.metadata, marks))
  }

  /** Volumes whose metadata has every key/value of `marks` (leftover search). */
  async findByMetadata(marks: Record<string, string>, signal?: AbortSignal): Promise<Volume[]> {
    const volumes = await this.http.list<Volume>('volume', '/volumes/detail', 'volumes', {
      query: { metadata: JSON.stringify(marks) },
      ...opt(signal),
    })
    return volumes.filter((v) => matches(v.metadata, marks))
  }

  /** Waits for `available`; on `error` says so with Cinder's reason when it gives one. */
  async waitAvailable(id: string, timeoutMs: number, signal?: AbortSignal): Promise<Volume> {
    return poll(
      async () => {
        const v = await this.get(id, signal)
        if (!v) throw new GutsError('GUTS_NOT_FOUND', `Cinder volume ${id} disappeared while guts waited for it.`)
        if (v.status === 'available' || v.status === 'in-use') return v
        if (v.status.startsWith('error'))
          throw new GutsError('GUTS_DRIVER_ERROR', `Cinder volume ${v.name} (${id}) went to ${v.status}${await this.reason(id, signal)}.`)
        return undefined
      },
      { what: `Cinder volume ${id} to become available`, timeoutMs, ...opt(signal) },
    )
  }

  /**
   * Deletes a volume and waits until it is gone. A volume still being created or detached
   * (after its server was deleted) cannot be deleted yet, so that is waited out first.
   */
  async deleteAndWait(id: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const settled = await poll(
      async () => {
        const v = await this.get(id, signal)
        if (!v) return 'gone' as const
        return TRANSITIONAL.has(v.status) || (v.status === 'in-use' && !v.attachments?.length) ? undefined : v
      },
      { what: `Cinder volume ${id} to settle before deletion`, timeoutMs, ...opt(signal) },
    )
    if (settled === 'gone') return
    if (settled.status === 'in-use') {
      throw new GutsError(
        'GUTS_CONFLICT',
        `Cinder volume ${settled.name} (${id}) is still attached to server ${settled.attachments?.[0]?.server_id}; it is not deleted.`,
      )
    }
    await this.http.request('volume', 'DELETE', `/volumes/${id}`, { accept: [404], ...opt(signal) })
    await poll(
      async () => {
        const v = await this.get(id, signal)
        if (!v) return true
        if (v.status === 'error_deleting')
          throw new GutsError(
            'GUTS_DRIVER_ERROR',
            `Cinder could not delete volume ${v.name} (${id}): error_deleting${await this.reason(id, signal)}.`,
          )
        return undefined
      },
      { what: `Cinder volume ${id} to be deleted`, timeoutMs, ...opt(signal) },
    )
  }

  async limits(signal?: AbortSignal): Promise<VolumeLimits> {
    const r = await this.http.request<{ limits: { absolute: VolumeLimits } }>('volume', 'GET', '/limits', opt(signal))
    return r.body.limits.absolute
  }

  async volumeTypes(signal?: AbortSignal): Promise<{ id: string; name: string }[]> {
    return this.http.list<{ id: string; name: string }>('volume', '/types', 'volume_types', opt(signal))
  }

  /** The newest user message Cinder keeps about a volume (why a create failed), if any. */
  private async reason(id: string, signal?: AbortSignal): Promise<string> {
    try {
      const r = await this.http.request<{ messages?: { user_message?: string; resource_uuid?: string }[] }>('volume', 'GET', '/messages', {
        query: { resource_uuid: id },
        headers: { 'OpenStack-API-Version': 'volume 3.3' },
        ...opt(signal),
      })
      const message = r.body.messages?.find((m) => m.resource_uuid === id)?.user_message
      return message ? `: ${message}` : ''
    } catch {
      return ''
    }
  }
}

export function matches(metadata: Record<string, string> | undefined, marks: Record<string, string>): boolean {
  return Object.entries(marks).every(([k, v]) => metadata?.[k] === v)
}
