import { Readable } from 'node:stream'
import { request, type Agent } from 'undici'

export interface StreamResponse {
  status: number
  headers: Headers
  body: Readable
}

const IS_BUN = 'bun' in process.versions

/**
 * One request whose body (upload) or answer (download) is streamed: image data, never buffered.
 * Under Node it is undici's `request` through the cloud's pool, which carries the CA bundle or the
 * insecure switch. Under Bun (tests, the single binary) `undici` is Bun's shim, which ignores a
 * pool's TLS settings, so it is Bun's fetch with its own `tls` option and a streamed body instead.
 */
export async function streamRequest(url: string, o: { method: 'GET' | 'PUT'; headers: Record<string, string>; body?: Readable; signal?: AbortSignal; agent: Agent; fetchTls: object }): Promise<StreamResponse> {
  if (IS_BUN) {
    const res = await fetch(url, {
      method: o.method,
      headers: o.headers,
      ...(o.body ? { body: Readable.toWeb(o.body) as unknown as ReadableStream, duplex: 'half' } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      ...o.fetchTls,
    } as RequestInit)
    return { status: res.status, headers: res.headers, body: res.body ? Readable.fromWeb(res.body as never) : Readable.from([]) }
  }
  const r = await request(url, { method: o.method, headers: o.headers, ...(o.body ? { body: o.body } : {}), ...(o.signal ? { signal: o.signal } : {}), dispatcher: o.agent })
  const headers = new Headers(Object.entries(r.headers).flatMap(([k, v]) => (typeof v === 'string' ? [[k, v] as [string, string]] : [])))
  return { status: r.statusCode, headers, body: r.body }
}

export async function readText(body: Readable): Promise<string> {
  let text = ''
  for await (const chunk of body) text += chunk.toString()
  return text
}
