import { dirname } from 'node:path'
import type { VmDescriptor, VmQuery, VmSummary } from '@guts/sdk'
import type { PlanDraft } from './plan/build-plan.js'
import type { DoctorCheck } from './service/doctor.js'
import type { DriverRow } from './service/drivers.js'
import type { InventorySource, VmLookup } from './service/inventory.js'
import { createMigrations, type ServiceDeps } from './service/migrations.js'
import type { OptionQuestion } from './service/plan-drafting.js'
import type { NewTokenInput, TokenCaller, Tokens, TokenView } from './service/tokens.js'
import type { StateStore } from './state/store.js'

export type { ServiceDeps, RunOptions, MigrationSummaryView } from './service/migrations.js'
export type { DoctorCheck, DriverRow, InventorySource, OptionQuestion, PlanDraft, VmLookup }
export type { NewTokenInput, TokenCaller, TokenView }

/**
 * The one API of guts. The CLI, the REST server and the workers call this, never the pipeline, the
 * registry or the state store directly, so every front end validates, records, runs and lists the
 * same way. Front ends parse their input, make one call here and render what it returns. What a
 * migration does not need (inventory, doctor, drafting) is loaded on first use: start-up matters.
 */
export function createMigrationService(deps: ServiceDeps) {
  let opened: Promise<StateStore> | undefined
  const db = () => (opened ??= typeof deps.store === 'function' ? deps.store() : Promise.resolve(deps.store))
  const migrations = createMigrations(deps, db)
  const env = () => deps.env ?? process.env
  const loaded = () => ({ config: deps.config ?? {}, ...(deps.configFile ? { filepath: deps.configFile } : {}) })
  const inventory = () => import('./service/inventory.js')
  const drafting = () => import('./service/plan-drafting.js')
  let tokenApi: Promise<Tokens> | undefined
  // One per service: it remembers when each token's last use was written.
  const tokens = () => (tokenApi ??= import('./service/tokens.js').then((m) => m.createTokens(db)))
  return {
    ...migrations,
    /** The VMs of a source profile or of a plan's source (connects, read-only). */
    listSourceVms: async (
      source: InventorySource | undefined,
      query: VmQuery = {},
      signal = AbortSignal.timeout(300_000),
    ): Promise<VmSummary[]> => (await inventory()).listSourceVms(source, loaded(), { registry: deps.registry, env: env() }, query, signal),
    /** What the driver describes of one VM of a source, by exact name or by id (connects, read-only). */
    describeSourceVm: async (
      source: InventorySource | undefined,
      vm: VmLookup,
      signal = AbortSignal.timeout(300_000),
    ): Promise<VmDescriptor> => (await inventory()).describeSourceVm(source, vm, loaded(), { registry: deps.registry, env: env() }, signal),
    /** The source networks the given VMs' NICs are on, for network-mapping questions. */
    sourceNetworks: async (
      driver: string,
      options: Record<string, unknown>,
      vms: VmSummary[],
      signal = AbortSignal.timeout(300_000),
    ): Promise<string[]> => (await inventory()).sourceNetworks(deps.registry, driver, options, vms, signal),
    /** VMs of a source given by driver and options (plan drafting: options as typed, not yet a plan). */
    listDraftSourceVms: async (
      driver: string,
      options: Record<string, unknown>,
      signal = AbortSignal.timeout(300_000),
    ): Promise<VmSummary[]> => (await inventory()).listDriverVms(deps.registry, driver, options, process.cwd(), signal),
    /** Installed drivers with their capabilities (loads modules, connects to nothing). */
    listDrivers: async (): Promise<DriverRow[]> => (await import('./service/drivers.js')).describeDrivers(deps.registry),
    /** What this machine has and lacks for guts: tools, data dir, its free space, the state store. */
    doctor: async (): Promise<DoctorCheck[]> =>
      (await import('./service/doctor.js')).runDoctor({
        dataDir: deps.dataDir ?? dirname(deps.workRoot),
        ...(deps.databaseUrl ? { databaseUrl: deps.databaseUrl } : {}),
      }),
    /** The questions for a driver's options (plan wizards). */
    draftQuestions: async (driver: string, role: 'source' | 'destination'): Promise<OptionQuestion[]> =>
      (await drafting()).draftQuestions(deps.registry, driver, role, env()),
    /** A validated plan as YAML from a draft; nothing is written or created. */
    /** The export modes the source driver can do, for the mode question. */
    draftModes: async (driver: string): Promise<NonNullable<PlanDraft['mode']>[]> => (await drafting()).draftModes(deps.registry, driver),
    draftPlan: async (draft: PlanDraft, file = 'plan.yaml'): Promise<string> =>
      (await drafting()).draftPlan(deps.registry, draft, file, migrations.validatePlan),
    /** A new API token for `guts serve`; its secret is in this result only (the store keeps its sha256). */
    createToken: async (input: NewTokenInput): Promise<{ token: TokenView; secret: string }> => (await tokens()).createToken(input),
    /** API tokens, newest first, revoked ones included; no secrets or hashes. */
    listTokens: async (): Promise<TokenView[]> => (await tokens()).listTokens(),
    /** Revokes a token by id or unique id prefix; idempotent. */
    revokeToken: async (idOrPrefix: string): Promise<TokenView> => (await tokens()).revokeToken(idOrPrefix),
    /** Who a presented secret belongs to; undefined when it is malformed, unknown or revoked. */
    verifyToken: async (secret: string): Promise<TokenCaller | undefined> => (await tokens()).verifyToken(secret),
    /** The plan's JSON Schema, for editors and API clients. */
    planSchema: async (): Promise<Record<string, unknown>> => (await import('./plan/schema.js')).planJsonSchema(),
  }
}

export type MigrationService = ReturnType<typeof createMigrationService>
