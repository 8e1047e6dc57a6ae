import { Args, Flags } from '@oclif/core'
import { BaseCommand, EXIT_CODES_HELP } from '../../cli/base-command.js'
import { runAndRender, type RunOutput } from '../../cli/run-and-render.js'

export default class MigrationResume extends BaseCommand<typeof MigrationResume> {
  static override summary = 'Continue a migration after a crash, kill or cancel'
  static override description = `Continues from each VM's last checkpoint: committed disks and finished stages are not repeated, and nothing is created twice. VMs that already succeeded are skipped; failed ones start again.

${EXIT_CODES_HELP}`
  static override jsonLines = true
  static override args = { id: Args.string({ description: 'Migration id (or a unique prefix)', required: true }) }
  static override flags = { 'keep-on-failure': Flags.boolean({ description: 'Leave what a failed VM created, for debugging' }) }

  async run(): Promise<RunOutput | undefined> {
    const { args } = await this.parse(MigrationResume)
    const service = await this.service()
    const keep = this.flags['keep-on-failure'] ? { keepOnFailure: true } : {}
    return runAndRender(await this.runContext(), (run) => service.runMigration(args.id, { ...run, ...keep }))
  }
}
