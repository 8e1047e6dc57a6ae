import { dirname } from 'node:path'
import { Args, Flags } from '@oclif/core'
import { BaseCommand, EXIT_CODES_HELP } from '../cli/base-command.js'
import { readPlanFile } from '../cli/read-plan.js'
import { runAndRender } from '../cli/run-and-render.js'

export default class Migrate extends BaseCommand<typeof Migrate> {
  static override summary = 'Migrate the VMs of a YAML plan'
  static override description = `Validates the plan, then runs every VM through discover → preflight → export → transfer/convert → import → boot → verify → cleanup, with live progress. Each stage is checkpointed: after a crash or kill, \`guts migration resume <id>\` continues. A failed VM is rolled back (everything guts created for it is deleted) unless --keep-on-failure is given. Ctrl-C stops and rolls back.

VMs with \`mode: warm\` stay running while they are synced (a full sync, then a delta sync every warm.syncInterval) until the cutover: at warm.cutoverAt, or when \`guts migration cutover <id>\` is run from any shell; the command then powers them off, syncs the last changes, boots them at the destination and reports each VM's downtime.

${EXIT_CODES_HELP}`

  static override examples = ['<%= config.bin %> migrate examples/quickstart.yaml', '<%= config.bin %> migrate wave-1.yaml --json > report.ndjson']

  static override args = { plan: Args.string({ description: 'The plan file (YAML)', required: true }) }

  static override flags = {
    json: Flags.boolean({ description: 'Print events and the final report as JSON lines' }),
    'keep-on-failure': Flags.boolean({ description: 'Leave what a failed VM created, for debugging (clean up later with `guts migration cleanup`)' }),
  }

  async run(): Promise<void> {
    const { args } = await this.parse(Migrate)
    const text = await readPlanFile(args.plan)
    const service = await this.service({ configFrom: dirname(args.plan) })
    const migration = await service.createMigration(text, args.plan, { keepOnFailure: this.flags['keep-on-failure'] })
    if (!this.flags.json) this.logToStderr(`Migration ${migration.id} (${migration.name})`)
    const { exitCode, error } = await runAndRender(service, migration.id, { json: this.flags.json, output: await this.userSetting('output'), log: (l) => this.log(l) })
    if (error) this.logToStderr(`Unexpected error: ${(error as Error).message}`)
    if (exitCode !== 0) this.exit(exitCode)
  }
}
