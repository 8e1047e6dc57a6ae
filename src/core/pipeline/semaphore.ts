/** A counting semaphore: at most `limit` holders at once, FIFO. */
export class Semaphore {
  private active = 0
  private readonly waiting: (() => void)[] = []
  constructor(private readonly limit: number) {}

  async use<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve))
    this.active++
    try {
      return await fn()
    } finally {
      this.active--
      this.waiting.shift()?.()
    }
  }
}

/** One semaphore per key (a source host), created on first use. */
export class KeyedSemaphore {
  private readonly byKey = new Map<string, Semaphore>()
  constructor(private readonly limit: number) {}

  use<T>(key: string | undefined, fn: () => Promise<T>): Promise<T> {
    if (key === undefined) return fn()
    let s = this.byKey.get(key)
    if (!s) this.byKey.set(key, (s = new Semaphore(this.limit)))
    return s.use(fn)
  }
}

/** Runs `fn` over items with at most `limit` at once; rejects with the first error after all settle. */
export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const sem = new Semaphore(limit)
  const results = await Promise.allSettled(items.map((item) => sem.use(() => fn(item))))
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failed) throw failed.reason
}
