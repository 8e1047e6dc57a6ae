import { createHash, type Hash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { PassThrough, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { GutsError, poll } from '@guts/sdk'
import { readText } from '@guts/http'
import { apiError, networkError } from './errors.js'
import { requestIdOf, type OpenStackHttp } from './http.js'

export interface Image {
  id: string
  name: string
  status: string
  tags: string[]
  size?: number | null
  disk_format?: string
  os_hash_algo?: string | null
  os_hash_value?: string | null
  [property: string]: unknown
}

export interface CreateImage {
  name: string
  diskFormat: 'qcow2' | 'raw'
  tags: string[]
  minDisk?: number
  minRam?: number
  /** Free-form properties; Glance stores them as strings. */
  properties: Record<string, string>
}

/** Glance v2: images guts creates, uploads into and deletes. */
export class Glance {
  constructor(private readonly http: OpenStackHttp) {}

  async create(o: CreateImage, signal?: AbortSignal): Promise<Image> {
    const body = {
      name: o.name,
      disk_format: o.diskFormat,
      container_format: 'bare',
      visibility: 'private',
      tags: o.tags,
      ...(o.minDisk ? { min_disk: o.minDisk } : {}),
      ...(o.minRam ? { min_ram: o.minRam } : {}),
      ...o.properties,
    }
    return (await this.http.request<Image>('image', 'POST', '/images', { body, ...(signal ? { signal } : {}) })).body
  }

  async get(id: string, signal?: AbortSignal): Promise<Image | undefined> {
    const r = await this.http.request<Image>('image', 'GET', `/images/${id}`, { accept: [404], ...(signal ? { signal } : {}) })
    return r.status === 404 ? undefined : r.body
  }

  /** Images with this name carrying every one of `tags` (Glance ANDs repeated tag filters). */
  async findByName(name: string, tags: string[], signal?: AbortSignal): Promise<Image[]> {
    const images = await this.http.list<Image>('image', '/images', 'images', {
      query: { name, ...(tags[0] ? { tag: tags[0] } : {}) },
      ...(signal ? { signal } : {}),
    })
    return images.filter((i) => i.name === name && tags.every((t) => i.tags?.includes(t)))
  }

  async findByTag(tag: string, signal?: AbortSignal): Promise<Image[]> {
    return this.http.list<Image>('image', '/images', 'images', { query: { tag }, ...(signal ? { signal } : {}) })
  }

  /** Deletes an image; an image that is already gone is fine. */
  async delete(id: string, signal?: AbortSignal): Promise<void> {
    await this.http.request('image', 'DELETE', `/images/${id}`, { accept: [404], ...(signal ? { signal } : {}) })
  }

  async waitActive(id: string, timeoutMs: number, signal?: AbortSignal): Promise<Image> {
    return poll(
      async () => {
        const image = await this.get(id, signal)
        if (!image) throw new GutsError('GUTS_NOT_FOUND', `Glance image ${id} disappeared while guts waited for it.`)
        if (image.status === 'active') return image
        if (['killed', 'deleted', 'pending_delete'].includes(image.status)) {
          throw new GutsError('GUTS_DRIVER_ERROR', `Glance image ${image.name} (${id}) went to status ${image.status} instead of active.`)
        }
        return undefined
      },
      { what: `Glance image ${id} to become active`, timeoutMs, ...(signal ? { signal } : {}) },
    )
  }

  /** Streams an image's data into a local file (tests and checks read disks back this way). */
  async download(id: string, path: string, signal?: AbortSignal): Promise<void> {
    const url = `${await this.http.endpoint('image', signal)}/images/${id}/file`
    const r = await this.http.stream(url, {
      method: 'GET',
      headers: { 'X-Auth-Token': await this.http.token(signal) },
      ...(signal ? { signal } : {}),
    })
    if (r.status !== 200) {
      const text = await readText(r.body)
      throw apiError({ service: 'image', method: 'GET', url, status: r.status, body: text }, this.http.secrets())
    }
    await pipeline(r.body, createWriteStream(path))
  }

  /**
   * A sink that PUTs the bytes written into it to `/images/{id}/file` as one streamed request
   * (undici under Node: no buffering, about twice fetch's throughput; Bun's fetch under Bun). It finishes only once Glance has
   * answered 204, and, if Glance reports a sha512 `os_hash_value`, that equals the sha512 of the
   * bytes that went through, so a completed write means the data is stored and intact.
   */
  async uploadSink(id: string, signal: AbortSignal): Promise<Writable> {
    const url = `${await this.http.endpoint('image', signal)}/images/${id}/file`
    const token = await this.http.token(signal)
    const body = new PassThrough({ highWaterMark: 4 * 1024 * 1024 })
    const hash: Hash = createHash('sha512')
    const aborter = new AbortController()
    const onAbort = (): void => aborter.abort(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    let bytes = 0
    const done = this.http
      .stream(url, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/octet-stream', 'X-Auth-Token': token },
        body,
        signal: aborter.signal,
      })
      .then(
        async (r) => {
          const text = await readText(r.body)
          if (r.status !== 204 && r.status !== 200) {
            throw apiError(
              { service: 'image', method: 'PUT', url, status: r.status, body: text, requestId: requestIdOf(r.headers) },
              this.http.secrets(),
            )
          }
        },
        (error: unknown) => {
          if (signal.aborted) throw new GutsError('GUTS_ABORTED', 'Aborted during the Glance upload.', { cause: error })
          throw networkError('image', url, error, this.http.secrets())
        },
      )
    const waitActive = (imageId: string) => this.waitActive(imageId, 600_000, signal)
    let finishing = false
    const sink = new Writable({
      highWaterMark: 4 * 1024 * 1024,
      write(chunk: Buffer, _enc, cb) {
        hash.update(chunk)
        bytes += chunk.length
        if (body.write(chunk)) cb()
        else body.once('drain', () => cb())
      },
      final(cb) {
        finishing = true
        body.end()
        done
          .then(async () => {
            const image = await waitActive(id)
            if (image.os_hash_algo === 'sha512' && image.os_hash_value && image.os_hash_value !== hash.digest('hex')) {
              throw new GutsError(
                'GUTS_VERIFY_FAILED',
                `Glance image ${image.name} stores different data than guts sent (sha512 mismatch after ${bytes} bytes).`,
                { retryable: true },
              )
            }
          })
          .then(
            () => cb(),
            (error: unknown) => cb(error as Error),
          )
          .finally(() => signal.removeEventListener('abort', onAbort))
      },
      destroy(error, cb) {
        signal.removeEventListener('abort', onAbort)
        if (error) {
          aborter.abort(error)
          body.destroy(error)
        }
        cb(error)
      },
    })
    // An early answer (413 quota, 401) must fail the writer now: it would otherwise wait for a
    // 'drain' that never comes.
    done.catch((error: unknown) => {
      if (!finishing) sink.destroy(error as Error)
    })
    return sink
  }
}
