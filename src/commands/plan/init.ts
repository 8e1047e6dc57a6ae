import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { Flags } from '@oclif/core'
import { GutsError, isGutsError } from '@guts/sdk'
import { BaseCommand } from '../../cli/base-command.js'
import { planWizard } from '../../cli/plan-wizard.js'
import { terminalAsker } from '../../cli/prompts.js'
import { draftFromFlags } from '../../cli/draft-flags.js'

export default class PlanInit extends BaseCommand<typeof PlanInit> {
  static override summary = 'Write a migration plan, interactively or from flags'
  static override description =
    'On a terminal it asks for the source and what it needs (the options your environment already supplies are not asked; advanced ones only if you want them), connects — asking again if that fails —, lists the VMs to pick and asks for network mappings. Without a terminal, give --source, --destination and --vm (and their options) instead. Only what you give is written; the plan is validated before it is written.'
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

  async run(): Promise<{ file: string; vms: string[]; source: string; destination: string }> {
    const f = this.flags
    if (existsSync(f.out) && !f.force)
      throw new GutsError('GUTS_USAGE', `${f.out} already exists.`, {
        suggestions: ['Pass --force to overwrite it, or --out to write elsewhere.'],
      })
    const service = await this.service()
    const draft = draftFromFlags(f) ?? (await planWizard(service, await this.asker(), f.name ? { name: f.name } : {}))
    const text = await service.draftPlan(draft, f.out).catch((e: unknown) => Promise.reject(inFlagWords(e)))
    await writeFile(f.out, text, { mode: 0o600 })
    this.log(`Wrote ${f.out} (${draft.vms.length} VM${draft.vms.length === 1 ? '' : 's'}). Next: guts migrate ${f.out}`)
    return { file: f.out, vms: draft.vms, source: draft.source.driver, destination: draft.destination.driver }
  }

  private async asker() {
    if (!process.stdin.isTTY || !process.stdout.isTTY) {
      throw new GutsError('GUTS_USAGE', 'guts plan init asks questions and needs a terminal.', {
        suggestions: [
          'Give the answers as flags: --source <driver> --source-option key=value … --destination <driver> --destination-option key=value … --vm <name> --network from=to --out plan.yaml',
          'Or copy examples/quickstart.yaml and edit it (`guts plan schema` documents every field).',
        ],
      })
    }
    return terminalAsker((line) => this.logToStderr(line))
  }
}

/** The service names plan fields; here they are flags. */
function inFlagWords(error: unknown): unknown {
  if (!isGutsError(error) || error.details?.option !== 'mode') return error
  return new GutsError(error.code, error.message.replace(/cannot do mode /, 'cannot do --mode '), { suggestions: error.suggestions })
}
