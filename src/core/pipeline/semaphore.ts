import pLimit from 'p-limit'

/**
 * A counting semaphore: at most `limit` holders at once, FIFO. Kept beside p-limit because a VM's
 * slots must be given back and taken again mid-run (a warm VM idling between syncs, `HeldSlots.idle`),
 * which p-limit's run-this-function API cannot express.
 */
export class Semaphore {
  private active = 0
  private readonly waiting: (() => void)[] = []
  constructor(private readonly limit: number) {}

  /** Waits for a slot; the returned function gives it back (once, however often it is called). */
  async acquire(): Promise<() => void> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve))
    this.active++
    let held = true
    return () => {
      if (!held) return
      held = false
      this.active--
      this.waiting.shift()?.()
    }
  }
}

/** One semaphore per key (a source host), created on first use. */
export class KeyedSemaphore {
  private readonly byKey = new Map<string, Semaphore>()
  constructor(private readonly limit: number) {}

  acquire(key: string | undefined): Promise<() => void> {
    return key === undefined ? Promise.resolve(() => undefined) : this.semaphore(key).acquire()
  }

  private semaphore(key: string): Semaphore {
    let s = this.byKey.get(key)
    if (!s) this.byKey.set(key, (s = new Semaphore(this.limit)))
    return s
  }
}

/**
 * The slots one VM holds (the migration's concurrency, its source host's), taken in order. A warm
 * VM waiting for its next sync gives them back (`idle`), so waiting VMs never keep others from
 * syncing: the limits bound the work, not the number of VMs in a warm phase.
 */
export class HeldSlots {
  private releases: (() => void)[] = []
  constructor(private readonly takers: readonly (() => Promise<() => void>)[]) {}

  async take(): Promise<void> {
    for (const take of this.takers) this.releases.push(await take())
  }

  release(): void {
    for (const r of this.releases.reverse()) r()
    this.releases = []
  }

  async idle<T>(fn: () => Promise<T>): Promise<T> {
    this.release()
    try {
      return await fn()
    } finally {
      await this.take()
    }
  }
}

/** Runs `fn` over items with at most `limit` at once; rejects with the first error after all settle. */
export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const run = pLimit(limit)
  const results = await Promise.allSettled(items.map((item) => run(() => fn(item))))
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failed) throw failed.reason
}
