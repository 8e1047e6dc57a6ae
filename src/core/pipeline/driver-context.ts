import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { DriverContext, Logger } from '@guts/sdk'
import type { StateStore } from '../state/store.js'
import type { EventListener } from './events.js'

/**
 * The context drivers get for one VM: its AbortSignal, a logger that becomes `log` events, a work
 * directory, and `recordUndo`, which writes to the undo log before the driver acts.
 */
export async function vmDriverContext(o: {
  store: StateStore
  migrationId: string
  vmKey: string
  workDir: string
  signal: AbortSignal
  emit: EventListener
}): Promise<DriverContext> {
  await mkdir(o.workDir, { recursive: true, mode: 0o700 })
  return {
    signal: o.signal,
    workDir: o.workDir,
    log: eventLogger(o.emit, o.vmKey),
    recordUndo: async (entry) => {
      await o.store.appendUndo(o.migrationId, o.vmKey, entry)
    },
  }
}

/** Driver logs surface as `log` events; debug stays quiet unless GUTS_DEBUG is set. */
export function eventLogger(emit: EventListener, vm?: string): Logger {
  const debug = Boolean(process.env.GUTS_DEBUG)
  const send = (level: 'info' | 'warn', message: string) => emit({ type: 'log', level, message, ...(vm ? { vm } : {}) })
  return {
    debug: (m) => (debug ? send('info', m) : undefined),
    info: (m) => send('info', m),
    warn: (m) => send('warn', m),
    error: (m) => send('warn', m),
  }
}

/** Each VM's scratch directory: `<workRoot>/<migration id>/<vm name made path-safe>`. */
export function vmWorkDir(workRoot: string, migrationId: string, vmKey: string): string {
  return join(workRoot, migrationId, vmKey.replace(/[^A-Za-z0-9._-]/g, '_'))
}
