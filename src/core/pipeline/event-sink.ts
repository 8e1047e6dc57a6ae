import type { JsonObject } from '@guts/sdk'
import type { StateStore } from '../state/store.js'
import type { EventListener, MigrationEvent } from './events.js'

/**
 * Fans events out to the live listener and appends the durable ones (everything but progress ticks)
 * to the store, in order, without making the pipeline wait for each write.
 */
export function eventSink(
  store: StateStore,
  migrationId: string,
  listener?: EventListener,
): { emit: EventListener; flush(): Promise<void> } {
  let chain: Promise<unknown> = Promise.resolve()
  const emit: EventListener = (event: MigrationEvent) => {
    listener?.(event)
    if (event.type === 'disk.progress') return
    const { type, ...data } = event
    const vmKey = 'vm' in event ? event.vm : undefined
    chain = chain
      .then(() => store.appendEvent(migrationId, { type, ...(vmKey ? { vmKey } : {}), data: data as unknown as JsonObject }))
      .catch(() => undefined)
  }
  return { emit, flush: () => chain.then(() => undefined) }
}
