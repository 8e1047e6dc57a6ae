import { dirname } from 'node:path'
import {
  GutsError,
  isGutsError,
  silentLogger,
  type DriverContext,
  type SourceDriver,
  type VmDescriptor,
  type VmQuery,
  type VmSummary,
} from '@guts/sdk'
import type { DriverRegistry } from '../../drivers/registry.js'
import type { LoadedConfig } from '../config/load-config.js'
import { checkDriverOptions, driverOptions } from '../plan/driver-options.js'
import { formatPath, type PathSegment } from '../plan/issues.js'
import { preparePlan, withBaseDir, type PrepareEnv } from '../plan/prepare-plan.js'
import { checkReferenceSyntax, resolveReferences } from '../plan/references.js'
import { findVmByName } from './vm-by-name.js'

/** A source to list: a named source profile of the guts config, or the source of a plan. */
export type InventorySource = { profile: string } | { plan: { text: string; file: string } }

/** No source given: a usage error (exit 2) that names the profiles there are. */
export function noSourceError(loaded: LoadedConfig, which = 'to list'): GutsError {
  return new GutsError('GUTS_USAGE', `Say which source ${which}: a source profile of the guts config, or a plan.`, {
    suggestions: [knownProfiles(loaded)],
    details: { profiles: Object.keys(loaded.config.profiles?.sources ?? {}) },
  })
}

/** The VMs of a source profile or of a plan's source, sorted by name. Read-only. */
export async function listSourceVms(
  source: InventorySource | undefined,
  loaded: LoadedConfig,
  env: Omit<PrepareEnv, 'config'>,
  query: VmQuery,
  signal: AbortSignal,
): Promise<VmSummary[]> {
  if (!source) throw noSourceError(loaded)
  const { driver, options } = await resolveInventorySource(source, loaded, env)
  return listVms(env.registry, driver, options, query, signal)
}

/** How `describeSourceVm` is told which VM: its exact name, or the driver's own id. */
export type VmLookup = { name: string } | { id: string }

/**
 * What the driver describes of one VM of a source profile or of a plan's source (firmware, disks,
 * NICs…), as a migration would see it. By name: the one VM whose name is exactly that (see
 * {@link findVmByName}); by id: the driver's own GUTS_NOT_FOUND when it has none. Read-only.
 */
export async function describeSourceVm(
  source: InventorySource | undefined,
  vm: VmLookup,
  loaded: LoadedConfig,
  env: Omit<PrepareEnv, 'config'>,
  signal: AbortSignal,
): Promise<VmDescriptor> {
  if (!source) throw noSourceError(loaded, 'the VM is on')
  const { driver, options } = await resolveInventorySource(source, loaded, env)
  return withConnectedSource(env.registry, driver, options, signal, async (driverSource, ctx) => {
    if ('id' in vm) return driverSource.describeVm({ id: vm.id, name: vm.id }, ctx)
    const found = await findVmByName(vm.name, sourceLabel(source), (query) => collectVms(driverSource, query, ctx))
    return driverSource.describeVm({ id: found.id, name: found.name }, ctx)
  })
}

/**
 * The driver of a source profile or of a plan's source and the options it sees: a plan's own
 * source settings with profiles and `${env:…}` references resolved as for a migration
 * (GUTS_PLAN_INVALID otherwise), a profile as {@link resolveSourceProfile} does. Connects to nothing.
 */
export async function resolveInventorySource(
  source: InventorySource,
  loaded: LoadedConfig,
  env: Omit<PrepareEnv, 'config'>,
): Promise<{ driver: string; options: Record<string, unknown> }> {
  if ('profile' in source) return resolveSourceProfile(source.profile, loaded, env)
  const { resolved } = await preparePlan(source.plan.text, source.plan.file, { ...env, config: loaded.config })
  return { driver: resolved.plan.source.driver!, options: resolved.sourceOptions }
}

/** How messages name a source: `source profile "vc-prod"` or `the source of plan wave-1.yaml`. */
function sourceLabel(source: InventorySource): string {
  return 'profile' in source ? `source profile "${source.profile}"` : `the source of plan ${source.plan.file}`
}

/**
 * The VMs a source reaches with options typed into a wizard (literal values, not yet a plan): the
 * options are checked against the driver's schema first (GUTS_CONFIG_INVALID with every problem).
 */
export async function listDriverVms(
  registry: DriverRegistry,
  driver: string,
  options: Record<string, unknown>,
  baseDir: string,
  signal: AbortSignal,
): Promise<VmSummary[]> {
  const module = await registry.load(driver, 'source')
  const problems = checkDriverOptions(module, options, ['source'])
  if (problems.length) throw new GutsError('GUTS_CONFIG_INVALID', problems.map((p) => `${formatPath(p.path)}: ${p.message}`).join('\n'))
  return listVms(registry, driver, withBaseDir(module, options, baseDir), {}, signal)
}

/**
 * A source profile as a driver name and the options that driver sees — resolved the way a plan's
 * `source: {profile: …}` is: the driver's own options checked first (every problem at once), then
 * `${env:…}` / `${file:…}` resolved (relative files against the config file's directory), then
 * `baseDir` set for drivers that read local paths. Unknown profile: GUTS_USAGE (exit 2); a bad
 * profile or an unresolvable reference: GUTS_CONFIG_INVALID (exit 2). Connects to nothing.
 */
export async function resolveSourceProfile(
  name: string,
  loaded: LoadedConfig,
  env: Omit<PrepareEnv, 'config'>,
): Promise<{ driver: string; options: Record<string, unknown> }> {
  const profiles = loaded.config.profiles?.sources ?? {}
  const profile = Object.hasOwn(profiles, name) ? profiles[name] : undefined
  if (!profile) {
    const where = loaded.filepath
      ? `in ${loaded.filepath}`
      : ': no guts config found (guts.config.yaml or .gutsrc*, searched upwards from the current directory)'
    throw new GutsError('GUTS_USAGE', `No source profile "${name}"${loaded.filepath ? ' ' : ''}${where}.`, {
      suggestions: [knownProfiles(loaded), 'A plan works too: its source is listed.'],
    })
  }
  const at: PathSegment[] = ['profiles', 'sources', name]
  const file = loaded.filepath ?? 'guts config'
  const invalid = (problems: { path: PathSegment[]; message: string }[]) =>
    new GutsError(
      'GUTS_CONFIG_INVALID',
      `Source profile "${name}" has problems:\n${problems.map((p) => `${file} ${formatPath(p.path)}: ${p.message}`).join('\n')}`,
      {
        suggestions: ['Fix the profile in the guts config, or use another config file.'],
      },
    )
  const driver = profile.driver
  if (!driver) throw invalid([{ path: at, message: 'a source profile needs a driver (e.g. driver: vmware)' }])
  let module
  try {
    module = await env.registry.load(driver, 'source')
  } catch (error) {
    if (!isGutsError(error)) throw error
    throw invalid([{ path: [...at, 'driver'], message: error.message }])
  }
  const problems = [
    ...checkReferenceSyntax(profile).map((r) => ({ path: [...at, ...r.path], message: r.message })),
    ...checkDriverOptions(module, driverOptions(profile), at),
  ]
  if (problems.length) throw invalid(problems)
  const baseDir = loaded.filepath ? dirname(loaded.filepath) : process.cwd()
  const { value, issues } = resolveReferences(driverOptions(profile), { env: env.env ?? process.env, baseDir })
  if (issues.length) throw invalid(issues.map((i) => ({ path: [...at, ...i.path], message: i.issue ?? 'bad reference' })))
  return { driver, options: withBaseDir(module, value, baseDir) }
}

function knownProfiles(loaded: LoadedConfig): string {
  const names = Object.keys(loaded.config.profiles?.sources ?? {})
  if (names.length) return `Source profiles${loaded.filepath ? ` in ${loaded.filepath}` : ''}: ${names.join(', ')}.`
  return loaded.filepath
    ? `${loaded.filepath} defines no source profiles (profiles: {sources: {<name>: {driver: …}}}).`
    : 'Define profiles in a guts.config.yaml (profiles: {sources: {<name>: {driver: …}}}).'
}

/** The networks the given VMs' NICs are on (for mapping prompts), read with describeVm. */
export async function sourceNetworks(
  registry: DriverRegistry,
  driver: string,
  options: Record<string, unknown>,
  vms: VmSummary[],
  signal: AbortSignal,
): Promise<string[]> {
  return withConnectedSource(registry, driver, options, signal, async (source, ctx) => {
    const names = new Set<string>()
    for (const vm of vms) for (const nic of (await source.describeVm(vm, ctx)).nics) if (nic.network) names.add(nic.network)
    return [...names].sort()
  })
}

export async function listVms(
  registry: DriverRegistry,
  driver: string,
  options: Record<string, unknown>,
  query: VmQuery,
  signal: AbortSignal,
): Promise<VmSummary[]> {
  return withConnectedSource(registry, driver, options, signal, async (source, ctx) =>
    (await collectVms(source, query, ctx)).sort((a, b) => a.name.localeCompare(b.name)),
  )
}

async function collectVms(source: SourceDriver, query: VmQuery, ctx: DriverContext): Promise<VmSummary[]> {
  const out: VmSummary[] = []
  for await (const vm of source.listVms(query, ctx)) out.push(vm)
  return out
}

/**
 * A new instance of a source driver, connected, for `use`; disposed afterwards whatever happens.
 * Inventory only reads, so its context records no undo and has no work dir.
 */
async function withConnectedSource<T>(
  registry: DriverRegistry,
  driver: string,
  options: Record<string, unknown>,
  signal: AbortSignal,
  use: (source: SourceDriver, ctx: DriverContext) => Promise<T>,
): Promise<T> {
  const source = await registry.createSource(driver, options)
  const ctx: DriverContext = { signal, log: silentLogger, workDir: '', recordUndo: async () => undefined }
  try {
    await source.connect(ctx)
    return await use(source, ctx)
  } finally {
    await source.dispose()
  }
}
