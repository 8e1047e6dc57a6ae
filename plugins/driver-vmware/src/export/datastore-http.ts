import { posix } from 'node:path'
import { Readable } from 'node:stream'
import { GutsError } from '@guts/sdk'
import type { SoapTransport } from '../client/soap.js'
import { guarded } from './guarded.js'
import { isRawDescriptor, mapRange, parseVmdkDescriptor, type ExtentPiece, type VmdkDescriptor } from './vmdk-descriptor.js'

/**
 * Datastore files over vSphere's HTTP file access (`/folder/<path>?dcPath=&dsName=`), the same
 * URLs govc's datastore.download uses. vCenter proxies them to a host and requires the session
 * cookie, which SoapTransport.get sends.
 */

/** `[LocalDS_0] vm/disk.vmdk` → its datastore and the path inside it. */
export interface DatastoreFile {
  datastore: string
  path: string
}

export function parseDatastorePath(p: string): DatastoreFile | undefined {
  const m = /^\[([^\]]+)\]\s*(.+)$/.exec(p.trim())
  return m ? { datastore: m[1]!, path: m[2]! } : undefined
}

/** The `/folder` URL of a datastore file; `dcPath` is the datacenter's inventory path (`DC0`, `Europe/DC1`). */
export function folderUrl(endpoint: URL, file: DatastoreFile, dcPath: string): string {
  const path = file.path.split('/').map(encodeURIComponent).join('/')
  return `${endpoint.origin}/folder/${path}?dcPath=${encodeURIComponent(dcPath)}&dsName=${encodeURIComponent(file.datastore)}`
}

/** Descriptors are a few hundred bytes; anything past this is not a text descriptor. */
const DESCRIPTOR_MAX = 64 * 1024

/**
 * Reads a disk's text descriptor. undefined when the file is a binary (sparse) VMDK. Only the
 * first 64 KiB are asked for, so a monolithic sparse file is not downloaded whole.
 */
export async function readDescriptor(transport: SoapTransport, url: string, signal: AbortSignal): Promise<VmdkDescriptor | undefined> {
  const res = await transport.get(url, signal, undefined, { Range: `bytes=0-${DESCRIPTOR_MAX - 1}` })
  if (res.status !== 200 && res.status !== 206) {
    await res.body?.cancel().catch(() => undefined)
    throw httpError(res.status, 'descriptor', url)
  }
  const chunks: Buffer[] = []
  let bytes = 0
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    chunks.push(Buffer.from(chunk))
    bytes += chunk.length
    if (bytes >= DESCRIPTOR_MAX) break // a server that ignored Range: stop reading
  }
  return parseVmdkDescriptor(Buffer.concat(chunks).subarray(0, DESCRIPTOR_MAX).toString('latin1'))
}

export interface RangeTarget {
  transport: SoapTransport
  /** The disk's descriptor file (its extents are named relative to its directory). */
  descriptor: DatastoreFile
  dcPath: string
  /** The disk's size: the extents must add up to it. */
  size: number
  /** For messages: `vm disk 2000`. */
  what: string
}

/** Why a disk gets no random access, or the readRange function when it does. */
export function rangeReader(
  target: RangeTarget,
  d: VmdkDescriptor | undefined,
): { reason: string } | { readRange: (offset: number, length: number, signal: AbortSignal) => Promise<Readable> } {
  if (!d) return { reason: 'its VMDK is a binary sparse file' }
  if (d.hasParent) return { reason: 'its snapshot disk is a delta of a parent disk' }
  if (!isRawDescriptor(d))
    return { reason: `its extents are ${[...new Set(d.extents.map((e) => e.type))].join(', ') || 'missing'}, not flat` }
  // `/vmfs/volumes/…` or `vsan://…` (vSAN, vVols): not a file next to the descriptor on this datastore.
  if (d.extents.some((e) => e.file!.startsWith('/') || e.file!.includes('://')))
    return { reason: 'its extents are not files next to its descriptor' }
  const total = d.extents.reduce((n, e) => n + e.size, 0)
  if (total !== target.size) return { reason: `its extents hold ${total} bytes, not the disk's ${target.size}` }
  const dir = posix.dirname(target.descriptor.path)
  const urlOf = (p: ExtentPiece): string =>
    folderUrl(
      target.transport.endpoint,
      { datastore: target.descriptor.datastore, path: dir === '.' ? p.file : `${dir}/${p.file}` },
      target.dcPath,
    )
  return {
    async readRange(offset: number, length: number, signal: AbortSignal): Promise<Readable> {
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > total) {
        throw new GutsError('GUTS_DRIVER_ERROR', `readRange(${offset}, ${length}) of ${target.what} is outside the disk's ${total} bytes.`)
      }
      const pieces = mapRange(d, offset, length)
      if (!pieces.length) return Readable.from([])
      // The first request is made now, so that a refused range fails this call, not the stream.
      const first = await openPiece(target, urlOf(pieces[0]!), pieces[0]!, signal)
      return Readable.from(
        (async function* () {
          yield* exactly(target, first, pieces[0]!, signal)
          for (const p of pieces.slice(1)) yield* exactly(target, await openPiece(target, urlOf(p), p, signal), p, signal)
        })(),
        { objectMode: false },
      )
    },
  }
}

async function openPiece(target: RangeTarget, url: string, p: ExtentPiece, signal: AbortSignal): Promise<Response> {
  const res = await target.transport.get(url, signal, undefined, { Range: `bytes=${p.offset}-${p.offset + p.length - 1}` })
  if (res.status === 206) {
    const cr = res.headers.get('content-range')
    const start = cr ? /^bytes (\d+)-(\d+)\//.exec(cr) : null
    if (!cr || (start && Number(start[1]) === p.offset && Number(start[2]) === p.offset + p.length - 1)) return res
    await res.body?.cancel().catch(() => undefined)
    throw new GutsError(
      'GUTS_DRIVER_ERROR',
      `vSphere answered a range read of ${target.what} with ${cr}, not bytes ${p.offset}-${p.offset + p.length - 1}.`,
    )
  }
  await res.body?.cancel().catch(() => undefined)
  if (res.status === 200) {
    throw new GutsError(
      'GUTS_UNSUPPORTED',
      `vSphere ignored the Range header reading ${target.what} (HTTP 200, the whole file): this server offers no random access to datastore files.`,
    )
  }
  throw httpError(res.status, target.what, url)
}

/** The piece's bytes, checked to be exactly `p.length` (a short or long body is an error). */
async function* exactly(target: RangeTarget, res: Response, p: ExtentPiece, signal: AbortSignal): AsyncGenerator<Buffer> {
  let got = 0
  for await (const chunk of guarded(Readable.fromWeb(res.body as never), signal, `the range read of ${target.what}`)) {
    got += chunk.length
    if (got > p.length)
      throw new GutsError(
        'GUTS_DRIVER_ERROR',
        `vSphere sent more than the ${p.length} bytes asked for reading ${target.what} at ${p.offset}.`,
      )
    yield chunk
  }
  if (got !== p.length) {
    throw new GutsError('GUTS_UNREACHABLE', `The range read of ${target.what} at ${p.offset} ended after ${got} of ${p.length} bytes.`, {
      retryable: true,
    })
  }
}

function httpError(status: number, what: string, url: string): GutsError {
  const code = status === 401 || status === 403 ? 'GUTS_AUTH_FAILED' : status === 404 ? 'GUTS_NOT_FOUND' : 'GUTS_DRIVER_ERROR'
  return new GutsError(code, `vSphere datastore read of ${what} failed with HTTP ${status} (${url.replace(/\?.*$/, '')}).`, {
    retryable: status >= 500,
  })
}
