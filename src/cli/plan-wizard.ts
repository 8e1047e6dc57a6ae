import { checkbox, input, password, select } from '@inquirer/prompts'
import type { DriverModule, SourceCapabilities, VmSummary } from '@guts/sdk'
import type { DriverRegistry } from '../drivers/registry.js'
import { listVms, sourceNetworks } from '../core/inventory.js'
import { modeProblem, type PlanDraft } from '../core/plan/build-plan.js'

const SECRET = /(password|secret|token|key)/i

/**
 * The interactive side of `guts plan init`: pick drivers, answer their options (secrets become
 * `${env:NAME}` references, the value itself is only used to connect now), pick VMs, map networks.
 */
export async function planWizard(registry: DriverRegistry, defaults: { name?: string }): Promise<PlanDraft> {
  const name = await input({ message: 'Plan name', default: defaults.name ?? 'wave-1', validate: (v) => /^[A-Za-z0-9][\w.-]*$/.test(v) || 'letters, digits, ".", "_" and "-"' })
  const sourceDriver = await select({ message: 'Source', choices: registry.list().filter((e) => e.role === 'source').map((e) => ({ name: `${e.name} (${e.plugin})`, value: e.name })) })
  const sourceModule = await registry.load(sourceDriver, 'source')
  const source = await askOptions(sourceModule)
  const vms = await listVms(registry, sourceDriver, { ...source.live, baseDir: process.cwd() }, {}, AbortSignal.timeout(300_000))
  if (!vms.length) throw new Error('The source has no VMs to migrate.')
  const picked = await checkbox<VmSummary>({ message: 'VMs to migrate', required: true, choices: vms.map((v) => ({ name: `${v.name} (${v.powerState})`, value: v })) })
  const mode = await askMode(sourceModule)
  const destDriver = await select({ message: 'Destination', choices: registry.list().filter((e) => e.role === 'destination').map((e) => ({ name: `${e.name} (${e.plugin})`, value: e.name })) })
  const destination = await askOptions(await registry.load(destDriver, 'destination'))
  const networks: PlanDraft['networks'] = []
  // Ask for each network the picked VMs are on; then any others the user wants to add.
  const sourceOptions = { ...source.live, baseDir: process.cwd() }
  for (const from of await sourceNetworks(registry, sourceDriver, sourceOptions, picked, AbortSignal.timeout(300_000))) {
    const to = await input({ message: `Destination network for source network "${from}" (empty to leave unmapped)`, default: '' })
    if (to) networks.push({ from, to })
  }
  let from = await input({ message: 'Map another source network (empty to finish)', default: '' })
  while (from) {
    networks.push({ from, to: await input({ message: `Destination network for "${from}"`, required: true }) })
    from = await input({ message: 'Map another source network (empty to finish)', default: '' })
  }
  return { name, source: { driver: sourceDriver, options: source.written }, destination: { driver: destDriver, options: destination.written }, vms: picked.map((v) => v.name), networks, ...(mode ? { mode } : {}) }
}

/** The export modes the source can do; asked only when there is a choice. */
async function askMode(module: DriverModule): Promise<PlanDraft['mode']> {
  const caps = (module.capabilities ?? {}) as Partial<SourceCapabilities>
  const choices = [
    { name: 'cold — powered off, then copied (downtime: the whole copy)', value: 'cold' as const },
    { name: 'snapshot — copied from a snapshot while it runs (crash-consistent)', value: 'snapshot' as const },
    { name: 'warm — synced while it runs, cut over later (downtime: the last changes)', value: 'warm' as const },
  ].filter((c) => !modeProblem(caps, c.value))
  if (choices.length === 1) return undefined
  return select({ message: 'How should the VMs leave the source?', choices })
}

/** Asks each option of a driver's schema; returns what goes in the plan and what is used to connect now. */
async function askOptions(module: DriverModule): Promise<{ written: Record<string, unknown>; live: Record<string, unknown> }> {
  const schema = module.optionsSchema as { properties?: Record<string, { type?: string; description?: string; enum?: string[] }>; required?: string[] }
  const written: Record<string, unknown> = {}
  const live: Record<string, unknown> = {}
  for (const [key, prop] of Object.entries(schema.properties ?? {})) {
    if (key === 'baseDir' || (prop.type !== 'string' && prop.type !== 'boolean' && prop.type !== 'integer' && prop.type !== 'number')) continue
    const required = schema.required?.includes(key) ?? false
    const label = `${module.name} ${key}${prop.description ? ` — ${prop.description}` : ''}${required ? '' : ' (optional)'}`
    if (SECRET.test(key) || module.secretOptions?.includes(key)) {
      const envName = await input({ message: `Environment variable that will hold ${module.name} ${key}`, default: `GUTS_${module.name.toUpperCase().replace(/-/g, '_')}_${key.toUpperCase()}` })
      written[key] = `\${env:${envName}}`
      live[key] = process.env[envName] ?? (await password({ message: `${key} (used now to connect, never written)` }))
      continue
    }
    const answer = prop.enum
      ? await select({ message: label, choices: prop.enum.map((v) => ({ name: v, value: v })) })
      : await input({ message: label, required })
    if (answer === '') continue
    const value = prop.type === 'boolean' ? answer === 'true' : prop.type === 'integer' || prop.type === 'number' ? Number(answer) : answer
    written[key] = value
    live[key] = value
  }
  return { written, live }
}
