import type { FastifyReply, FastifyRequest } from 'fastify'
import type { EventRecord } from '../core/state/store.js'

export interface EventFeed {
  /** Events after `seq`, at most `limit`, in order. */
  read(afterSeq: number, limit: number): Promise<EventRecord[]>
  /** True once nothing more will be appended (the migration reached a terminal state). */
  finished(): Promise<boolean>
}

const POLL_MS = 500
const HEARTBEAT_MS = 15_000
const BATCH = 500

/**
 * Streams a migration's event log as Server-Sent Events: each event's `id:` is its sequence number,
 * so a client that reconnects with `Last-Event-ID` (or `?after=`) gets exactly what it missed, from
 * the log, nothing twice. A comment every 15 s keeps proxies from closing an idle stream; `end` says
 * the migration is over. Polls the store (the log is the truth, whichever process writes it).
 */
export async function streamEvents(req: FastifyRequest, reply: FastifyReply, feed: EventFeed, after: number): Promise<void> {
  const header = req.headers['last-event-id']
  const resumeAt = typeof header === 'string' && /^\d+$/.test(header) ? Number(header) : after
  reply.hijack()
  const res = reply.raw
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  })
  let closed = false
  req.raw.on('close', () => (closed = true))
  res.write(`retry: 2000\n: guts events from ${resumeAt}\n\n`)
  let cursor = resumeAt
  let lastWrite = Date.now()
  try {
    while (!closed) {
      const batch = await feed.read(cursor, BATCH)
      for (const e of batch) {
        const { seq, type, at, vmKey, data } = e
        res.write(`id: ${seq}\nevent: ${type}\ndata: ${JSON.stringify({ seq, type, at, ...(vmKey ? { vmKey } : {}), data })}\n\n`)
        cursor = seq
        lastWrite = Date.now()
      }
      if (batch.length === BATCH) continue
      if (await feed.finished()) {
        // Read once more: the last events may have landed between the read and the status.
        const tail = await feed.read(cursor, BATCH)
        if (tail.length) continue
        res.write(`event: end\ndata: {}\n\n`)
        break
      }
      if (Date.now() - lastWrite >= HEARTBEAT_MS) {
        res.write(`: heartbeat\n\n`)
        lastWrite = Date.now()
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS))
    }
  } finally {
    res.end()
  }
}
