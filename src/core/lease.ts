import { hostname } from 'node:os'
import type { Lease, StateStore } from './state/store.js'

export const LEASE_TTL_MS = 30_000
const HEARTBEAT_MS = 2_000

/** `host:pid`: who runs a migration, so a resume on the same host can tell a crashed owner. */
export function leaseOwner(): string {
  return `${hostname()}:${process.pid}`
}

/** A lease whose holder is a dead process on this host can be taken at once (after kill -9). */
export function holderIsGone(lease: Lease): boolean {
  const [host, pidText] = lease.owner.split(':')
  const pid = Number(pidText)
  if (host !== hostname() || !Number.isInteger(pid)) return false
  if (pid === process.pid) return false
  try {
    process.kill(pid, 0)
    return false
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH'
  }
}

/** True while a process holds the migration's lease and is alive (not expired, not a dead pid here). */
export async function isLive(store: StateStore, migrationId: string): Promise<boolean> {
  return leaseIsLive(await store.getLease(migrationId))
}

/** True for a lease that has not expired and whose holder is not a dead process on this host. */
export function leaseIsLive(lease: Lease | undefined): boolean {
  return Boolean(lease && Date.parse(lease.expiresAt) > Date.now() && !holderIsGone(lease))
}

/**
 * Keeps the lease alive while a migration runs and watches for a cancel requested by another
 * process (`guts migration cancel`, the REST API), aborting the run when it sees one.
 */
export function startHeartbeat(store: StateStore, migrationId: string, owner: string, abort: (reason: string) => void): () => void {
  let stopped = false
  const timer = setInterval(async () => {
    try {
      const held = await store.acquireLease(migrationId, owner, LEASE_TTL_MS)
      if (!held) abort('another process took over this migration')
      const m = await store.getMigration(migrationId)
      if (m?.cancelRequested && !stopped) abort('cancel requested')
    } catch {
      // A missed heartbeat is tolerated; the lease has a 30 s margin.
    }
  }, HEARTBEAT_MS)
  timer.unref()
  return () => {
    stopped = true
    clearInterval(timer)
  }
}
