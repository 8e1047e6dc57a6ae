import { dirname } from 'node:path'
import { Args, Flags } from '@oclif/core'
import { BaseCommand, EXIT_CODES_HELP } from '../cli/base-command.js'
import { readPlanFile } from '../cli/read-plan.js'
import { runAndRender, type RunOutput } from '../cli/run-and-render.js'

export default class Migrate extends BaseCommand<typeof Migrate> {
  static override summary = 'Migrate the VMs of a YAML plan'
  static override description = `Validates the plan, then runs every VM through discover → preflight → export → transfer/convert → import → boot → verify → cleanup, with live progress. Each stage is checkpointed: after a crash or kill, \`guts migration resume <id>\` continues. A failed VM is rolled back (everything guts created for it is deleted) unless --keep-on-failure is given. Ctrl-C stops and rolls back.

VMs with \`mode: warm\` stay running while they are synced (a full sync, then a delta sync every warm.syncInterval) until the cutover: at warm.cutoverAt, or when \`guts migration cutover <id>\` is run from any shell; the command then powers them off, syncs the last changes, boots them at the destination and reports each VM's downtime.

With --json, every event is a JSON line and the last line is the report ({"type":"report",…}).

${EXIT_CODES_HELP}`

  static override examples = [
    '<%= config.bin %> migrate examples/quickstart.yaml',
    '<%= config.bin %> migrate wave-1.yaml --json > report.ndjson',
  ]
  static override jsonLines = true
  static override args = { plan: Args.string({ description: 'The plan file (YAML)', required: true }) }
  static override flags = {
    'keep-on-failure': Flags.boolean({
      description: 'Leave what a failed VM created, for debugging (clean up later with `guts migration cleanup`)',
    }),
  }

  async run(): Promise<RunOutput | undefined> {
    const { args } = await this.parse(Migrate)
    const text = await readPlanFile(args.plan)
    const service = await this.service({ configFrom: dirname(args.plan) })
    const migration = await service.createMigration(text, args.plan, { keepOnFailure: this.flags['keep-on-failure'] })
    this.logToStderr(`Migration ${migration.id} (${migration.name})`)
    return runAndRender(await this.runContext(), (run) => service.runMigration(migration.id, run))
  }
}
