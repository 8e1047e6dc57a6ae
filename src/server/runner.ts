import type { MigrationService } from '../core/service.js'

export interface RunnerLog {
  info(message: string): void
  warn(message: string): void
}

interface Job {
  id: string
  retry?: { vms?: string[] }
}

/**
 * Runs migrations inside `guts serve`, in the background of the requests that start them: at most
 * `limit` at once (each under its plan's own VM concurrency), the rest queued in order. The service
 * records every state change and the run lease, so a stop (SIGTERM) aborts what runs — it checkpoints
 * and releases its lease — and the next start resumes those migrations.
 */
export class MigrationRunner {
  private readonly active = new Map<string, AbortController>()
  private readonly done = new Set<Promise<void>>()
  private readonly queue: Job[] = []
  private stopping = false

  constructor(
    private readonly service: MigrationService,
    private readonly log: RunnerLog,
    private readonly limit = 8,
  ) {}

  /** Whether this server runs (or has queued) the migration. */
  has(id: string): boolean {
    return this.active.has(id) || this.queue.some((j) => j.id === id)
  }

  /** Starts (or queues) a run; false when it already runs or is queued here, or the server is stopping. */
  start(id: string, retry?: { vms?: string[] }): boolean {
    if (this.stopping || this.has(id)) return false
    this.queue.push({ id, ...(retry ? { retry } : {}) })
    this.pump()
    return true
  }

  /** Migrations a stopped (or killed) server left running resume here. */
  async resumeInterrupted(): Promise<string[]> {
    const rows = await this.service.listMigrationSummaries({ status: ['running'] })
    const ids = rows.filter((m) => m.interrupted).map((m) => m.id)
    for (const id of ids) this.start(id)
    if (ids.length) this.log.info(`resuming ${ids.length} interrupted migration(s): ${ids.join(', ')}`)
    return ids
  }

  /** Stops taking work, aborts what runs (each saves its checkpoint), and waits for them. */
  async stop(): Promise<void> {
    this.stopping = true
    this.queue.length = 0
    for (const c of this.active.values()) c.abort(new Error('guts serve is stopping'))
    await Promise.allSettled([...this.done])
  }

  private pump(): void {
    while (!this.stopping && this.active.size < this.limit && this.queue.length) {
      const job = this.queue.shift()!
      const controller = new AbortController()
      this.active.set(job.id, controller)
      const run = job.retry
        ? this.service.retryMigration(job.id, { signal: controller.signal, ...(job.retry.vms ? { vms: job.retry.vms } : {}) })
        : this.service.runMigration(job.id, { signal: controller.signal })
      const finished = run.then(
        (r) => this.log.info(`migration ${job.id} ${r.status}`),
        (error: unknown) => this.log.warn(`migration ${job.id} stopped: ${(error as Error).message}`),
      )
      const tracked = finished.finally(() => {
        this.active.delete(job.id)
        this.done.delete(tracked)
        this.pump()
      })
      this.done.add(tracked)
    }
  }
}
