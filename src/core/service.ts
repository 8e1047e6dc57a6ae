import { dirname } from 'node:path'
import type { VmQuery, VmSummary } from '@guts/sdk'
import type { PlanDraft } from './plan/build-plan.js'
import { planJsonSchema } from './plan/schema.js'
import { runDoctor, type DoctorCheck } from './service/doctor.js'
import { describeDrivers, type DriverRow } from './service/drivers.js'
import { listDriverVms, listSourceVms, sourceNetworks, type InventorySource } from './service/inventory.js'
import { createMigrations, type ServiceDeps } from './service/migrations.js'
import { draftPlan, draftQuestions, type OptionQuestion } from './service/plan-drafting.js'
import type { StateStore } from './state/store.js'

export type { ServiceDeps, RunOptions, MigrationSummaryView } from './service/migrations.js'
export type { DoctorCheck, DriverRow, InventorySource, OptionQuestion, PlanDraft }

/**
 * The one API of guts. The CLI, the REST server and the workers call this, never the pipeline, the
 * registry or the state store directly, so every front end validates, records, runs and lists the
 * same way. Front ends parse their input, make one call here and render what it returns.
 */
export function createMigrationService(deps: ServiceDeps) {
  let opened: Promise<StateStore> | undefined
  const db = () => (opened ??= typeof deps.store === 'function' ? deps.store() : Promise.resolve(deps.store))
  const migrations = createMigrations(deps, db)
  const env = () => deps.env ?? process.env
  const loaded = () => ({ config: deps.config ?? {}, ...(deps.configFile ? { filepath: deps.configFile } : {}) })
  return {
    ...migrations,
    /** The VMs of a source profile or of a plan's source (connects, read-only). */
    listSourceVms: (source: InventorySource | undefined, query: VmQuery = {}, signal = AbortSignal.timeout(300_000)): Promise<VmSummary[]> =>
      listSourceVms(source, loaded(), { registry: deps.registry, env: env() }, query, signal),
    /** The source networks the given VMs' NICs are on, for network-mapping questions. */
    sourceNetworks: (driver: string, options: Record<string, unknown>, vms: VmSummary[], signal = AbortSignal.timeout(300_000)) =>
      sourceNetworks(deps.registry, driver, options, vms, signal),
    /** VMs of a source given by driver and options (plan drafting: options as typed, not yet a plan). */
    listDraftSourceVms: (driver: string, options: Record<string, unknown>, signal = AbortSignal.timeout(300_000)) =>
      listDriverVms(deps.registry, driver, options, process.cwd(), signal),
    /** Installed drivers with their capabilities (loads modules, connects to nothing). */
    listDrivers: (): Promise<DriverRow[]> => describeDrivers(deps.registry),
    /** What this machine has and lacks for guts: tools, data dir, its free space, the state store. */
    doctor: (): Promise<DoctorCheck[]> =>
      runDoctor({ dataDir: deps.dataDir ?? dirname(deps.workRoot), ...(deps.databaseUrl ? { databaseUrl: deps.databaseUrl } : {}) }),
    /** The questions for a driver's options (plan wizards). */
    draftQuestions: (driver: string, role: 'source' | 'destination'): Promise<OptionQuestion[]> => draftQuestions(deps.registry, driver, role, env()),
    /** A validated plan as YAML from a draft; nothing is written or created. */
    draftPlan: (draft: PlanDraft, file = 'plan.yaml'): Promise<string> => draftPlan(deps.registry, draft, file, migrations.validatePlan),
    /** The plan's JSON Schema, for editors and API clients. */
    planSchema: () => planJsonSchema(),
  }
}

export type MigrationService = ReturnType<typeof createMigrationService>
