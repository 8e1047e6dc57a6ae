import { existsSync } from 'node:fs'
import { abortedError, GutsError, isGutsError, type DiskSource, type ExportSession, type SourceDriver } from '@guts/sdk'
import { durationMs, type WarmSettings } from '../plan/schema.js'
import type { StateStore } from '../state/store.js'
import { CUTOVER_EVENT } from './events.js'
import type { CheckpointPatch } from './checkpoints.js'
import type { VmCheckpoint, WarmState } from './vm-job.js'
import { syncWarmVm, type SyncOptions } from './vm-warm-sync.js'

const POLL_MS = 1000

export interface WarmOptions extends SyncOptions {
  store: StateStore
  migrationId: string
  settings: WarmSettings
  /** The plan's power-off policy; `refuse` still shuts down gracefully at cutover (cutover needs the VM off). */
  powerOff: 'shutdown' | 'force' | 'refuse'
  /** Runs `fn` (the wait between syncs) without holding the VM's concurrency slots. */
  idle: <T>(fn: () => Promise<T>) => Promise<T>
}

/** What powering the source off needs: the VM, how (the plan's policy) and how long a shutdown may take. */
export type PowerOffOptions = Pick<WarmOptions, 'ctx' | 'emit' | 'vmKey' | 'powerOff' | 'settings'>

/**
 * The warm phase of one VM: a full sync, then a delta sync every `syncInterval` while the VM keeps
 * running, until cutover is asked for (`guts migration cutover`, or `cutoverAt` in the plan). Then
 * the source is powered off, the last delta synced, and the replicas are ready to import.
 * Resumable at every point: the state lives in the checkpoint, replicas in the VM's work dir.
 */
export async function runWarm(o: WarmOptions): Promise<void> {
  const { ctx, emit, vmKey, checkpoints } = o
  const cp = () => checkpoints.current
  const save = (patch: CheckpointPatch) => checkpoints.save(patch)
  const sync = async (kind: 'full' | 'delta' | 'final', last?: boolean) => save({ warm: await syncWarmVm(o, kind, last) })
  const previous = cp().warm
  if (previous && !Object.values(previous.replicas).every((path) => existsSync(path))) {
    // Resumed on another host (a shared PostgreSQL state), or the data dir was wiped: start over.
    ctx.log.warn('the warm replicas are not on this host: starting a new full sync')
    await save({ warm: null })
  }
  if (cp().warm?.cutOver) return
  const interrupted = cp().exportSession
  if (interrupted) {
    // A sync was interrupted (crash, kill): release its snapshot before anything else.
    await o.drivers.source.endExport(interrupted, 'aborted', ctx)
    await save({ exportSession: null })
  }
  // A full sync of a VM already powered off for the cutover is final by itself.
  const fullIsFinal = !cp().warm && Boolean(cp().poweredOffAt)
  if (!cp().warm) await sync('full', fullIsFinal)

  const cutoverAt = o.settings.cutoverAt ? Date.parse(o.settings.cutoverAt) : undefined
  const interval = durationMs(o.settings.syncInterval)
  const requests = new CutoverRequests(o.store, o.migrationId, vmKey)
  let failures = 0
  while (!cp().poweredOffAt) {
    const next = Date.parse(cp().warm!.lastSyncAt) + interval
    emit({
      type: 'vm.warm',
      vm: vmKey,
      state: 'waiting',
      nextSyncAt: new Date(next).toISOString(),
      ...(cutoverAt ? { cutoverAt: new Date(cutoverAt).toISOString() } : {}),
    })
    const wake = await o.idle(() => waitUntil(Math.min(next, cutoverAt ?? Infinity), () => requests.pending(), ctx.signal))
    if (wake === 'cutover' || (cutoverAt !== undefined && Date.now() >= cutoverAt)) break
    try {
      await sync('delta')
      failures = 0
    } catch (error) {
      if (
        ctx.signal.aborted ||
        (isGutsError(error) && !error.retryable && error.code !== 'GUTS_UNREACHABLE' && error.code !== 'GUTS_TIMEOUT')
      )
        throw error
      if (++failures >= o.settings.maxSyncFailures) throw error
      ctx.log.warn(
        `delta sync failed (${failures} of ${o.settings.maxSyncFailures} allowed in a row), retrying at the next interval: ${(error as Error).message}`,
      )
      await save({ warm: { ...cp().warm!, lastSyncAt: new Date().toISOString() } })
    }
  }

  emit({ type: 'vm.warm', vm: vmKey, state: 'cutover' })
  if (!cp().poweredOffAt) await save({ poweredOffAt: new Date().toISOString() })
  await powerOffSource(o.drivers.source, o, cp())
  if (fullIsFinal) await save({ warm: { ...cp().warm!, cutOver: true } })
  else await sync('final')
}

/** Powers the source VM off the way the plan says (idempotent, so a resumed cutover repeats it safely). */
export async function powerOffSource(source: SourceDriver, o: PowerOffOptions, cp: VmCheckpoint): Promise<void> {
  if (!source.capabilities.powerControl || !source.powerOff) {
    throw new GutsError(
      'GUTS_UNSUPPORTED',
      `The ${source.name} driver cannot power VMs off; shut ${o.vmKey} down yourself and resume the migration.`,
    )
  }
  const method = o.powerOff === 'force' ? 'force' : 'shutdown'
  o.emit({ type: 'vm.poweroff', vm: o.vmKey, state: 'started', method })
  await source.powerOff(
    cp.job?.ref ?? { id: cp.descriptor!.id, name: cp.descriptor!.name },
    { method, timeoutMs: durationMs(o.settings.shutdownTimeout) },
    o.ctx,
  )
  o.emit({ type: 'vm.poweroff', vm: o.vmKey, state: 'done', method })
}

/**
 * The source side of a cut-over warm VM: its replicas, as raw files. The transfer and verify stages
 * read them like any file source, so the import path is the same as for a cold migration.
 */
export function replicaSource(source: SourceDriver, warm: WarmState, descriptor: NonNullable<VmCheckpoint['descriptor']>): SourceDriver {
  return {
    ...source,
    async openDisk(_session: ExportSession, diskId: string): Promise<DiskSource> {
      const path = warm.replicas[diskId]
      const disk = descriptor.disks.find((d) => d.id === diskId)
      if (!path || !disk) throw new GutsError('GUTS_STATE_ERROR', `No replica of ${diskId}; the warm sync state is incomplete.`)
      return { kind: 'file', path, format: 'raw', virtualSize: disk.virtualSize }
    },
    async endExport(): Promise<void> {},
  }
}

/** Watches the migration's events for a cutover request naming this VM (or all VMs). */
class CutoverRequests {
  private after = 0
  private seen = false
  constructor(
    private readonly store: StateStore,
    private readonly migrationId: string,
    private readonly vmKey: string,
  ) {}

  async pending(): Promise<boolean> {
    if (this.seen) return true
    for (;;) {
      const events = await this.store.readEvents(this.migrationId, this.after, 500)
      for (const e of events) {
        this.after = e.seq
        const vms = Array.isArray(e.data.vms) ? (e.data.vms as string[]) : []
        if (e.type === CUTOVER_EVENT && (!vms.length || vms.includes(this.vmKey))) this.seen = true
      }
      if (events.length < 500) return this.seen
    }
  }
}

/** Sleeps until `until` (epoch ms), checking `cutover()` every second. */
async function waitUntil(until: number, cutover: () => Promise<boolean>, signal: AbortSignal): Promise<'time' | 'cutover'> {
  for (;;) {
    if (await cutover()) return 'cutover'
    const left = until - Date.now()
    if (left <= 0) return 'time'
    await new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(abortedError(signal))
      const done = () => {
        clearTimeout(timer)
        signal.removeEventListener('abort', done)
        if (signal.aborted) reject(abortedError(signal))
        else resolve()
      }
      const timer = setTimeout(done, Math.min(left, POLL_MS))
      signal.addEventListener('abort', done, { once: true })
    })
  }
}
