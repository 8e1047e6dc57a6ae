import { isGutsError, type VmSummary } from '@guts/sdk'
import type { MigrationService, PlanDraft } from '../core/service.js'
import { askOptions, type Answers } from './ask-options.js'
import type { Asker } from './prompts.js'

/**
 * The interactive side of `guts plan init` (and what the dashboard's plan builder mirrors): pick the
 * source and answer what it needs, connect (asking again when that fails), pick VMs and a mode,
 * pick the destination, map each network the VMs are on. Every question comes from the service.
 */
export async function planWizard(service: MigrationService, ask: Asker, defaults: { name?: string }): Promise<PlanDraft> {
  const name = await ask.text({
    message: 'Plan name',
    default: defaults.name ?? 'wave-1',
    validate: (v) => /^[A-Za-z0-9][\w.-]*$/.test(v) || 'letters, digits, ".", "_" and "-"',
  })
  const drivers = await service.listDrivers()
  const pick = (role: 'source' | 'destination', message: string) =>
    ask.select({
      message,
      choices: drivers.filter((d) => d.role === role && !d.error).map((d) => ({ name: `${d.name} (${d.plugin})`, value: d.name })),
    })
  const sourceDriver = await pick('source', 'Source')
  const { answers: source, vms } = await connectSource(service, ask, sourceDriver)
  if (!vms.length) throw new Error('The source has no VMs to migrate.')
  const picked = await ask.checkbox<VmSummary>({
    message: 'VMs to migrate',
    choices: vms.map((v) => ({ name: `${v.name} (${v.powerState})`, value: v })),
  })
  const mode = await askMode(ask, await service.draftModes(sourceDriver))
  const destDriver = await pick('destination', 'Destination')
  const destination = await askOptions(ask, await service.draftQuestions(destDriver, 'destination'))
  const networks: PlanDraft['networks'] = []
  for (const from of await service.sourceNetworks(sourceDriver, source.live, picked)) {
    const to = await ask.text({ message: `Destination network for source network "${from}" (empty to leave unmapped)`, default: '' })
    if (to) networks.push({ from, to })
  }
  return {
    name,
    source: { driver: sourceDriver, options: source.written },
    destination: { driver: destDriver, options: destination.written },
    vms: picked.map((v) => v.name),
    networks,
    ...(mode ? { mode } : {}),
  }
}

/** Asks the source's options and lists its VMs; a failed connection shows why and asks again. */
async function connectSource(service: MigrationService, ask: Asker, driver: string): Promise<{ answers: Answers; vms: VmSummary[] }> {
  const questions = await service.draftQuestions(driver, 'source')
  let answers = await askOptions(ask, questions)
  for (;;) {
    try {
      return { answers, vms: await service.listDraftSourceVms(driver, answers.live) }
    } catch (error) {
      if (!isGutsError(error) || error.code === 'GUTS_ABORTED') throw error
      ask.say(`Could not list the VMs of ${driver}: ${error.message}`)
      for (const s of error.suggestions) ask.say(`  • ${s}`)
      if (!(await ask.confirm({ message: 'Change the settings and try again?', default: true }))) throw error
      answers = await askOptions(ask, questions, answers, true)
    }
  }
}

/** The export modes the source can do; asked only when there is a choice. */
async function askMode(ask: Asker, modes: NonNullable<PlanDraft['mode']>[]): Promise<PlanDraft['mode']> {
  const choices = [
    { name: 'cold — powered off, then copied (downtime: the whole copy)', value: 'cold' as const },
    { name: 'snapshot — copied from a snapshot while it runs (crash-consistent)', value: 'snapshot' as const },
    { name: 'warm — synced while it runs, cut over later (downtime: the last changes)', value: 'warm' as const },
  ].filter((c) => modes.includes(c.value))
  if (choices.length === 1) return undefined
  return ask.select({ message: 'How should the VMs leave the source?', choices })
}
