import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { GutsError, isGutsError, type JsonObject } from '@guts/sdk'
import type { DriverRegistry } from '../../drivers/registry.js'
import type { GutsConfig } from '../config/config-schema.js'
import { holderIsGone, isLive, leaseIsLive, leaseOwner, LEASE_TTL_MS, startHeartbeat } from '../lease.js'
import { checkPlan, type PlanCheck } from '../plan/load-plan.js'
import { preparePlan } from '../plan/prepare-plan.js'
import { REDACTED, redactPlanText } from '../plan/redact.js'
import { eventSink } from '../pipeline/event-sink.js'
import { CUTOVER_EVENT, type EventListener } from '../pipeline/events.js'
import { asCheckpoint } from '../pipeline/vm-job.js'
import type { ResolvedEndpoints } from '../pipeline/run-migration.js'
import { buildReport, type MigrationReport } from '../report.js'
import {
  TERMINAL_MIGRATION_STATUSES,
  type MigrationRecord,
  type MigrationStatus,
  type MigrationSummary,
  type StateStore,
  type VmRecord,
} from '../state/store.js'
import { short } from '../short-id.js'

export interface ServiceDeps {
  registry: DriverRegistry
  /** Opened on first use, so validating a plan (or rejecting one) never touches the state. */
  store: StateStore | (() => Promise<StateStore>)
  config?: GutsConfig
  /** The file `config` came from: relative paths in profiles resolve against it; messages name it. */
  configFile?: string
  /** Scratch space root (staging, extracted members); `<dataDir>/work` by default. */
  workRoot: string
  /** The data directory (`guts doctor` checks it); the parent of `workRoot` when not given. */
  dataDir?: string
  /** PostgreSQL URL of the state store (GUTS_DATABASE_URL), for the doctor's check; SQLite when absent. */
  databaseUrl?: string
  env?: Record<string, string | undefined>
}

export type MigrationSummaryView = MigrationSummary & { interrupted: boolean }

export interface RunOptions {
  signal?: AbortSignal
  onEvent?: EventListener
  keepOnFailure?: boolean
  /** Only these VMs (retry). */
  only?: string[]
}

/** The migration half of the service (see `../service.ts`): record, run, resume, cancel, cut over, report, clean up. */
export function createMigrations(deps: ServiceDeps, db: () => Promise<StateStore>) {
  const { registry } = deps
  const prepared = new Map<string, ResolvedEndpoints>()
  const env = { registry, ...(deps.config ? { config: deps.config } : {}), ...(deps.env ? { env: deps.env } : {}) }

  async function validatePlan(text: string, file: string): Promise<PlanCheck> {
    return checkPlan(text, file, env)
  }

  /** Validates and resolves the plan, then records the migration. Nothing is created on any error. */
  async function createMigration(text: string, file: string, options: { keepOnFailure?: boolean } = {}): Promise<MigrationRecord> {
    const { resolved } = await preparePlan(text, file, env)
    const { text: planText } = redactPlanText(text)
    const record = await (
      await db()
    ).createMigration({
      id: randomUUID(),
      name: resolved.plan.name,
      planText,
      planPath: resolve(file),
      options: { keepOnFailure: Boolean(options.keepOnFailure) },
    })
    // The run that usually follows in this process reuses this; a resume elsewhere prepares again.
    prepared.set(record.id, resolved)
    return record
  }

  /** Runs or resumes a migration to a terminal state in this process. */
  async function runMigration(idOrPrefix: string, options: RunOptions = {}): Promise<MigrationReport> {
    const store = await db()
    const migration = await getMigration(idOrPrefix)
    const id = migration.id
    const owner = leaseOwner()
    if (!(await store.acquireLease(id, owner, LEASE_TTL_MS, holderIsGone))) {
      const lease = await store.getLease(id)
      throw new GutsError('GUTS_CONFLICT', `Migration ${short(id)} is being run by ${lease?.owner ?? 'another process'}.`, {
        suggestions: ['Wait for it, or cancel it with `guts migration cancel ' + short(id) + '`.'],
      })
    }
    const controller = new AbortController()
    const onAbort = () => controller.abort(options.signal?.reason)
    options.signal?.addEventListener('abort', onAbort, { once: true })
    const stopHeartbeat = startHeartbeat(store, id, owner, (reason) => controller.abort(new Error(reason)))
    const sink = eventSink(store, id, options.onEvent)
    const started = Date.now()
    const resumed = migration.status !== 'pending'
    try {
      let resolved = prepared.get(id)
      prepared.delete(id)
      if (!resolved) {
        const { text, file } = await planTextFor(migration)
        resolved = (await preparePlan(text, file, env)).resolved
      }
      await store.updateMigration(id, {
        status: 'running',
        cancelRequested: false,
        error: null,
        ...(migration.startedAt ? {} : { startedAt: now() }),
      })
      sink.emit({ type: 'migration.started', migrationId: id, name: migration.name, resumed })
      const keepOnFailure = options.keepOnFailure ?? Boolean(migration.options.keepOnFailure)
      // The pipeline is loaded only by what runs a migration, not by validate, list or show.
      const { executeMigration } = await import('../pipeline/run-migration.js')
      const result = await executeMigration({
        store,
        registry,
        migrationId: id,
        resolved,
        signal: controller.signal,
        emit: sink.emit,
        workRoot: deps.workRoot,
        keepOnFailure,
        ...(options.only ? { only: options.only } : {}),
      })
      await finish(id, result.status)
      const vms = await store.listVms(id)
      sink.emit({
        type: 'migration.finished',
        migrationId: id,
        status: result.status,
        seconds: (Date.now() - started) / 1000,
        succeeded: vms.filter((v) => v.status === 'succeeded').length,
        failed: vms.filter((v) => v.status !== 'succeeded').length,
      })
    } catch (error) {
      await finish(id, controller.signal.aborted ? 'cancelled' : 'failed', error)
      throw error
    } finally {
      stopHeartbeat()
      options.signal?.removeEventListener('abort', onAbort)
      await sink.flush()
      await store.releaseLease(id, owner)
    }
    return report(id)
  }

  async function finish(id: string, status: MigrationStatus, error?: unknown) {
    const store = await db()
    await store.updateMigration(id, {
      status,
      finishedAt: now(),
      ...(error
        ? {
            error: (isGutsError(error)
              ? error.toJSON()
              : { code: 'GUTS_DRIVER_ERROR', message: String((error as Error)?.message ?? error) }) as JsonObject,
          }
        : {}),
    })
  }

  /** The plan as stored; a plan whose literal secrets were redacted is read again from its file. */
  async function planTextFor(m: MigrationRecord): Promise<{ text: string; file: string }> {
    const file = m.planPath ?? `${m.name}.yaml`
    if (!m.planText.includes(REDACTED)) return { text: m.planText, file }
    try {
      return { text: await readFile(file, 'utf8'), file }
    } catch {
      throw new GutsError(
        'GUTS_USAGE',
        `The plan of migration ${short(m.id)} held literal secrets, which guts does not store, and ${file} cannot be read.`,
        {
          suggestions: ['Put the plan back at that path, or use ${env:NAME} references for secrets.'],
        },
      )
    }
  }

  /** Asks the running process to stop (it polls); a migration that is not running is marked cancelled. */
  async function cancelMigration(idOrPrefix: string): Promise<MigrationRecord> {
    const store = await db()
    const m = await getMigration(idOrPrefix)
    if (TERMINAL_MIGRATION_STATUSES.includes(m.status)) return m
    return store.updateMigration(
      m.id,
      (await isLive(store, m.id)) ? { cancelRequested: true } : { status: 'cancelled', cancelRequested: true, finishedAt: now() },
    )
  }

  /**
   * Asks the warm VMs of a migration (all, or those named) to cut over: the process running it
   * powers them off, syncs the last changes and boots them at the destination. Recorded as an
   * event, so a migration that is not running right now cuts over as soon as it is resumed.
   */
  async function requestCutover(
    idOrPrefix: string,
    vmKeys: string[] = [],
  ): Promise<{ migration: MigrationRecord; vms: string[]; live: boolean }> {
    const store = await db()
    const m = await getMigration(idOrPrefix)
    if (TERMINAL_MIGRATION_STATUSES.includes(m.status))
      throw new GutsError('GUTS_CONFLICT', `Migration ${short(m.id)} is ${m.status}; there is nothing to cut over.`)
    const warm = (await store.listVms(m.id)).filter(
      (v) => asCheckpoint(v.checkpoint).job?.settings.mode === 'warm' && v.status !== 'succeeded',
    )
    const unknown = vmKeys.filter((k) => !warm.some((v) => v.vmKey === k))
    if (unknown.length || !warm.length) {
      throw new GutsError(
        'GUTS_USAGE',
        `${unknown.length ? `Not a warm VM still to cut over in ${short(m.id)}: ${unknown.join(', ')}.` : `Migration ${short(m.id)} has no warm VM still to cut over.`}`,
        {
          suggestions: [`Warm VMs of it: ${warm.map((v) => v.vmKey).join(', ') || 'none'} (see \`guts migration show ${short(m.id)}\`).`],
        },
      )
    }
    await store.appendEvent(m.id, { type: CUTOVER_EVENT, data: { vms: vmKeys } })
    return { migration: m, vms: vmKeys.length ? vmKeys : warm.map((v) => v.vmKey), live: await isLive(store, m.id) }
  }

  async function getMigration(idOrPrefix: string): Promise<MigrationRecord> {
    const store = await db()
    const exact = await store.getMigration(idOrPrefix)
    if (exact) return exact
    const matches = idOrPrefix.length >= 4 ? (await store.listMigrations()).filter((m) => m.id.startsWith(idOrPrefix)) : []
    if (matches.length === 1) return matches[0]!
    throw new GutsError(
      matches.length ? 'GUTS_CONFLICT' : 'GUTS_NOT_FOUND',
      matches.length
        ? `"${idOrPrefix}" matches ${matches.length} migrations; give more of the id.`
        : `No migration with id "${idOrPrefix}".`,
      {
        suggestions: ['Run `guts migration list` to see migrations and their ids.'],
      },
    )
  }

  async function report(idOrPrefix: string): Promise<MigrationReport> {
    const store = await db()
    const m = await getMigration(idOrPrefix)
    return buildReport(m, await store.listVms(m.id))
  }

  async function cleanup(
    idOrPrefix: string,
    onEvent?: EventListener,
  ): Promise<{ migration: MigrationRecord; cleaned: string[]; failed: string[] }> {
    const store = await db()
    const m = await getMigration(idOrPrefix)
    const { text, file } = await planTextFor(m)
    const { resolved } = await preparePlan(text, file, env)
    const sink = eventSink(store, m.id, onEvent)
    try {
      const { cleanupMigration } = await import('../pipeline/cleanup-migration.js')
      const r = await cleanupMigration({ store, registry, migration: m, resolved, workRoot: deps.workRoot, emit: sink.emit })
      return { migration: await getMigration(m.id), ...r }
    } finally {
      await sink.flush()
    }
  }

  /** Runs the named VMs of a migration again; with none named, every VM that did not succeed. */
  async function retryMigration(idOrPrefix: string, options: Omit<RunOptions, 'only'> & { vms?: string[] } = {}): Promise<MigrationReport> {
    const m = await getMigration(idOrPrefix)
    const { vms, ...run } = options
    const only = vms?.length ? vms : (await (await db()).listVms(m.id)).filter((v) => v.status !== 'succeeded').map((v) => v.vmKey)
    return runMigration(m.id, { ...run, only })
  }

  /**
   * Migrations, newest first, each with its VMs' states, in one store query; `interrupted` marks a
   * "running" one whose process is gone (resume it).
   */
  async function listMigrationSummaries(filter?: Parameters<StateStore['listMigrations']>[0]): Promise<MigrationSummaryView[]> {
    const rows = await (await db()).listMigrationSummaries(filter)
    return rows.map((m) => ({ ...m, interrupted: m.status === 'running' && !leaseIsLive(m.lease) }))
  }

  return {
    validatePlan,
    createMigration,
    runMigration,
    retryMigration,
    cancelMigration,
    requestCutover,
    getMigration,
    report,
    cleanup,
    listMigrationSummaries,
    listVms: async (id: string): Promise<VmRecord[]> => (await db()).listVms((await getMigration(id)).id),
    events: async (id: string, afterSeq?: number, limit?: number) => (await db()).readEvents((await getMigration(id)).id, afterSeq, limit),
    workDirFor: (id: string) => join(deps.workRoot, id),
  }
}

function now(): string {
  return new Date().toISOString()
}
