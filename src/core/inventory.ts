import { statSync } from 'node:fs'
import { dirname } from 'node:path'
import { GutsError, isGutsError, silentLogger, type VmQuery, type VmSummary } from '@guts/sdk'
import type { DriverRegistry } from '../drivers/registry.js'
import type { LoadedConfig } from './config/load-config.js'
import { checkDriverOptions, driverOptions } from './plan/driver-options.js'
import { formatPath, type PathSegment } from './plan/issues.js'
import { preparePlan, type PrepareEnv } from './plan/prepare-plan.js'
import { checkReferenceSyntax, resolveReferences } from './plan/references.js'

/** What `guts vm list` lists: the source of a plan file, or a named source profile of the guts config. */
export type ListSource = { kind: 'plan'; file: string } | { kind: 'profile'; name: string }

/**
 * `--source <profile|plan>` / `--plan <file>`. A `--source` value is a plan when it is an existing
 * file or ends in .yaml/.yml/.json, otherwise a profile name; `--plan` is always a plan file.
 * Undefined when neither is given (see {@link noSourceError}).
 */
export function listSourceOf(flags: { source?: string | undefined; plan?: string | undefined }): ListSource | undefined {
  if (flags.plan) return { kind: 'plan', file: flags.plan }
  const value = flags.source
  if (!value) return undefined
  return isPlanPath(value) ? { kind: 'plan', file: value } : { kind: 'profile', name: value }
}

function isPlanPath(value: string): boolean {
  if (/\.(ya?ml|json)$/i.test(value)) return true
  try {
    return statSync(value).isFile()
  } catch {
    return false
  }
}

/** Neither --source nor --plan: a usage error (exit 2) that names the profiles there are. */
export function noSourceError(loaded: LoadedConfig): GutsError {
  return new GutsError('GUTS_USAGE', 'Say which source to list: --source <profile> (a source profile of guts.config.yaml) or --source <plan file>.', {
    suggestions: [knownProfiles(loaded), 'e.g. guts vm list --source vc-prod --name "app-*"'],
  })
}

/**
 * Lists the VMs a plan's source has (for `guts vm list` and `guts plan init`), connecting with the
 * plan's own source settings (profiles and `${env:…}` references resolved as for a migration). Read-only.
 */
export async function listPlanSourceVms(text: string, file: string, env: PrepareEnv, query: VmQuery, signal: AbortSignal): Promise<VmSummary[]> {
  const { resolved } = await preparePlan(text, file, env)
  return listVms(env.registry, resolved.plan.source.driver!, resolved.sourceOptions, query, signal)
}

/** Lists the VMs of the source profile `name` of the guts config. Read-only. */
export async function listProfileVms(name: string, loaded: LoadedConfig, env: Omit<PrepareEnv, 'config'>, query: VmQuery, signal: AbortSignal): Promise<VmSummary[]> {
  const { driver, options } = await resolveSourceProfile(name, loaded, env)
  return listVms(env.registry, driver, options, query, signal)
}

/**
 * A source profile as a driver name and the options that driver sees — resolved the way a plan's
 * `source: {profile: …}` is: the driver's own options checked first (every problem at once), then
 * `${env:…}` / `${file:…}` resolved (relative files against the config file's directory), then
 * `baseDir` set for drivers that read local paths. Unknown profile: GUTS_USAGE (exit 2); a bad
 * profile or an unresolvable reference: GUTS_CONFIG_INVALID (exit 2). Connects to nothing.
 */
export async function resolveSourceProfile(name: string, loaded: LoadedConfig, env: Omit<PrepareEnv, 'config'>): Promise<{ driver: string; options: Record<string, unknown> }> {
  const profiles = loaded.config.profiles?.sources ?? {}
  const profile = Object.hasOwn(profiles, name) ? profiles[name] : undefined
  if (!profile) {
    const where = loaded.filepath ? `in ${loaded.filepath}` : ': no guts config found (guts.config.yaml or .gutsrc*, searched upwards from the current directory)'
    throw new GutsError('GUTS_USAGE', `No source profile "${name}"${loaded.filepath ? ' ' : ''}${where}.`, {
      suggestions: [knownProfiles(loaded), 'A plan file works too: --source plan.yaml.'],
    })
  }
  const at: PathSegment[] = ['profiles', 'sources', name]
  const file = loaded.filepath ?? 'guts config'
  const invalid = (problems: { path: PathSegment[]; message: string }[]) =>
    new GutsError('GUTS_CONFIG_INVALID', `Source profile "${name}" has problems:\n${problems.map((p) => `${file} ${formatPath(p.path)}: ${p.message}`).join('\n')}`, {
      suggestions: ['Fix the profile in the guts config, or pass --config to use another one.'],
    })
  const driver = profile.driver
  if (!driver) throw invalid([{ path: at, message: 'a source profile needs a driver (e.g. driver: vmware)' }])
  let module
  try {
    module = await env.registry.load(driver, 'source')
  } catch (error) {
    if (!isGutsError(error)) throw error
    throw invalid([{ path: [...at, 'driver'], message: error.message }])
  }
  const problems = [...checkReferenceSyntax(profile).map((r) => ({ path: [...at, ...r.path], message: r.message })), ...checkDriverOptions(module, driverOptions(profile), at)]
  if (problems.length) throw invalid(problems)
  const baseDir = loaded.filepath ? dirname(loaded.filepath) : process.cwd()
  const { value, issues } = resolveReferences(driverOptions(profile), { env: env.env ?? process.env, baseDir })
  if (issues.length) throw invalid(issues.map((i) => ({ path: [...at, ...i.path], message: i.issue ?? 'bad reference' })))
  // Drivers that read local paths declare `baseDir` (as a plan's directory is, for plans).
  const props = (module.optionsSchema as { properties?: Record<string, unknown> }).properties ?? {}
  return { driver, options: 'baseDir' in props && value.baseDir === undefined ? { ...value, baseDir } : value }
}

function knownProfiles(loaded: LoadedConfig): string {
  const names = Object.keys(loaded.config.profiles?.sources ?? {})
  if (names.length) return `Source profiles${loaded.filepath ? ` in ${loaded.filepath}` : ''}: ${names.join(', ')}.`
  return loaded.filepath ? `${loaded.filepath} defines no source profiles (profiles: {sources: {<name>: {driver: …}}}).` : 'Define profiles in a guts.config.yaml (profiles: {sources: {<name>: {driver: …}}}), or pass --config <file>.'
}

/** The networks the given VMs' NICs are on (for mapping prompts), read with describeVm. */
export async function sourceNetworks(registry: DriverRegistry, driver: string, options: Record<string, unknown>, vms: VmSummary[], signal: AbortSignal): Promise<string[]> {
  const source = await registry.createSource(driver, options)
  const ctx = { signal, log: silentLogger, workDir: '', recordUndo: async () => undefined }
  try {
    await source.connect(ctx)
    const names = new Set<string>()
    for (const vm of vms) for (const nic of (await source.describeVm(vm, ctx)).nics) if (nic.network) names.add(nic.network)
    return [...names].sort()
  } finally {
    await source.dispose()
  }
}

export async function listVms(registry: DriverRegistry, driver: string, options: Record<string, unknown>, query: VmQuery, signal: AbortSignal): Promise<VmSummary[]> {
  const source = await registry.createSource(driver, options)
  const ctx = { signal, log: silentLogger, workDir: '', recordUndo: async () => undefined }
  try {
    await source.connect(ctx)
    const out: VmSummary[] = []
    for await (const vm of source.listVms(query, ctx)) out.push(vm)
    return out.sort((a, b) => a.name.localeCompare(b.name))
  } finally {
    await source.dispose()
  }
}
