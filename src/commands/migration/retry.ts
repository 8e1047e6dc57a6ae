import { Args, Flags } from '@oclif/core'
import { BaseCommand, EXIT_CODES_HELP } from '../../cli/base-command.js'
import { runAndRender, type RunOutput } from '../../cli/run-and-render.js'

export default class MigrationRetry extends BaseCommand<typeof MigrationRetry> {
  static override summary = 'Run the failed VMs of a migration again'
  static override description = `Like resume, but only for the named VMs (default: every VM that did not succeed).

${EXIT_CODES_HELP}`
  static override jsonLines = true
  static override args = { id: Args.string({ description: 'Migration id (or a unique prefix)', required: true }) }
  static override flags = { vm: Flags.string({ description: 'Only this VM (repeatable)', multiple: true }) }

  async run(): Promise<RunOutput | undefined> {
    const { args } = await this.parse(MigrationRetry)
    const service = await this.service()
    return runAndRender(await this.runContext(), (run) =>
      service.retryMigration(args.id, { ...run, ...(this.flags.vm ? { vms: this.flags.vm } : {}) }),
    )
  }
}
