import { writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { Flags } from '@oclif/core'
import { GutsError, type SourceCapabilities } from '@guts/sdk'
import { BaseCommand } from '../../cli/base-command.js'
import { planWizard } from '../../cli/plan-wizard.js'
import { buildPlanYaml, modeProblem, parseKeyValues, type PlanDraft } from '../../core/plan/build-plan.js'
import { planInvalidError } from '../../core/plan/issues.js'

export default class PlanInit extends BaseCommand<typeof PlanInit> {
  static override summary = 'Write a migration plan, interactively or from flags'
  static override description = 'On a terminal it asks for the source and destination, connects, lists the VMs to pick and asks for network mappings. Without a terminal, give --source, --destination and --vm (and their options) instead. The plan is validated before it is written.'
  static override examples = [
    '<%= config.bin %> plan init',
    '<%= config.bin %> plan init --source files --source-option path=./vms --destination local --destination-option directory=./out --vm web-01 --network "VM Network=private" --out plan.yaml',
  ]
  static override flags = {
    out: Flags.string({ char: 'o', description: 'Where to write the plan', default: 'plan.yaml' }),
    force: Flags.boolean({ description: 'Overwrite an existing file' }),
    name: Flags.string({ description: 'Plan name' }),
    source: Flags.string({ description: 'Source driver (non-interactive)' }),
    'source-option': Flags.string({ description: 'Source driver option key=value (repeatable)', multiple: true }),
    destination: Flags.string({ description: 'Destination driver (non-interactive)' }),
    'destination-option': Flags.string({ description: 'Destination driver option key=value (repeatable)', multiple: true }),
    vm: Flags.string({ description: 'VM to migrate (repeatable)', multiple: true }),
    network: Flags.string({ description: 'Network mapping from=to (repeatable)', multiple: true }),
    mode: Flags.string({ description: 'How VMs leave the source (default cold)', options: ['cold', 'snapshot', 'warm'] }),
  }

  async run(): Promise<void> {
    const f = this.flags
    if (existsSync(f.out) && !f.force) throw new GutsError('GUTS_USAGE', `${f.out} already exists.`, { suggestions: ['Pass --force to overwrite it, or --out to write elsewhere.'] })
    const nonInteractive = Boolean(f.source || f.destination || f.vm)
    let draft: PlanDraft
    if (nonInteractive) {
      if (!f.source || !f.destination || !f.vm?.length) throw new GutsError('GUTS_USAGE', 'Without prompts, plan init needs --source, --destination and at least one --vm.')
      const opt = (pairs: string[] | undefined, flag: string) => {
        try { return parseKeyValues(pairs ?? [], flag) } catch (e) { throw new GutsError('GUTS_USAGE', (e as Error).message) }
      }
      draft = {
        name: f.name ?? 'wave-1',
        source: { driver: f.source, options: opt(f['source-option'], '--source-option') },
        destination: { driver: f.destination, options: opt(f['destination-option'], '--destination-option') },
        vms: f.vm,
        networks: Object.entries(opt(f.network, '--network')).map(([from, to]) => ({ from, to: String(to) })),
        ...(f.mode ? { mode: f.mode as PlanDraft['mode'] } : {}),
      }
    } else {
      if (!process.stdin.isTTY || !process.stdout.isTTY) {
        throw new GutsError('GUTS_USAGE', 'guts plan init asks questions and needs a terminal.', {
          suggestions: ['Give the answers as flags: --source <driver> --source-option key=value … --destination <driver> --destination-option key=value … --vm <name> --network from=to --out plan.yaml', 'Or copy examples/quickstart.yaml and edit it (`guts plan schema` documents every field).'],
        })
      }
      draft = await planWizard(this.registry(), f.name ? { name: f.name } : {})
    }
    const problem = draft.mode ? modeProblem((await this.registry().load(draft.source.driver, 'source')).capabilities as Partial<SourceCapabilities> | undefined, draft.mode) : undefined
    if (problem) throw new GutsError('GUTS_USAGE', `The ${draft.source.driver} source cannot do --mode ${draft.mode}: ${problem}.`)
    const text = buildPlanYaml(draft)
    const service = await this.service()
    const check = await service.validatePlan(text, f.out)
    if (!check.plan) throw planInvalidError(f.out, check.issues)
    await writeFile(f.out, text, { mode: 0o600 })
    this.log(`Wrote ${f.out} (${draft.vms.length} VM${draft.vms.length === 1 ? '' : 's'}). Next: guts migrate ${f.out}`)
  }
}
