import { GutsError, type DriverContext, type UndoEntry } from '@guts/sdk'
import type { OpenStackClient } from './client/index.js'
import { markTag } from './session.js'

const DELETE_TIMEOUT_MS = 10 * 60_000

/**
 * Deletes exactly what the undo entries name, in the order given (newest first: server, ports,
 * volumes, images). Each entry is looked up by its recorded name *and* the migration mark, so a
 * same-named resource made by someone else is never touched, and an entry whose resource never
 * came to exist (or is already gone) is a no-op. Every entry is attempted; failures are reported
 * together at the end, so a second run can finish the job.
 */
export async function rollbackEntries(
  client: OpenStackClient,
  undo: readonly UndoEntry[],
  fallbackMark: string | undefined,
  ctx: DriverContext,
): Promise<void> {
  const failures: string[] = []
  for (const entry of undo) {
    const mark = typeof entry.data?.mark === 'string' ? entry.data.mark : fallbackMark
    if (!mark) {
      ctx.log.warn('openstack: undo entry without a migration mark, skipped', { kind: entry.kind, ref: entry.ref })
      continue
    }
    try {
      await undoOne(client, entry, mark, ctx)
    } catch (error) {
      if ((error as { code?: string }).code === 'GUTS_ABORTED') throw error
      failures.push(`${entry.kind} ${entry.ref}: ${(error as Error).message}`)
    }
  }
  if (failures.length) {
    throw new GutsError('GUTS_DRIVER_ERROR', `Rollback could not delete ${failures.length} resource(s): ${failures.join('; ')}`, {
      retryable: true,
      suggestions: ['Run the cleanup again; resources already deleted are skipped.'],
    })
  }
}

async function undoOne(client: OpenStackClient, entry: UndoEntry, mark: string, ctx: DriverContext): Promise<void> {
  const { signal } = ctx
  switch (entry.kind) {
    case 'server':
      for (const s of await client.nova.findServers(entry.ref, { 'guts-migration': mark.slice(0, 255) }, signal)) {
        ctx.log.info('openstack: deleting server', { server: s.id, name: s.name })
        await client.nova.deleteAndWait(s.id, DELETE_TIMEOUT_MS, signal)
      }
      return
    case 'port':
      for (const p of await client.neutron.findPorts(entry.ref, markTag(mark), signal)) {
        ctx.log.info('openstack: deleting port', { port: p.id, name: p.name })
        await client.neutron.deletePort(p.id, signal)
      }
      return
    case 'volume':
      for (const v of await client.cinder.findByName(entry.ref, { 'guts-migration': mark.slice(0, 255) }, signal)) {
        ctx.log.info('openstack: deleting volume', { volume: v.id, name: v.name })
        await client.cinder.deleteAndWait(v.id, DELETE_TIMEOUT_MS, signal)
      }
      return
    case 'image':
      for (const i of await client.glance.findByName(entry.ref, [markTag(mark)], signal)) {
        ctx.log.info('openstack: deleting image', { image: i.id, name: i.name })
        await client.glance.delete(i.id, signal)
      }
      return
    default:
      ctx.log.warn('openstack: ignoring an undo entry of another kind', { kind: entry.kind, ref: entry.ref })
  }
}
