import { Args, Flags } from '@oclif/core'
import { BaseCommand, EXIT_CODES_HELP } from '../../cli/base-command.js'
import { runAndRender } from '../../cli/run-and-render.js'

export default class MigrationRetry extends BaseCommand<typeof MigrationRetry> {
  static override summary = 'Run the failed VMs of a migration again'
  static override description = `Like resume, but only for the named VMs (default: every VM that did not succeed).

${EXIT_CODES_HELP}`
  static override args = { id: Args.string({ description: 'Migration id (or a unique prefix)', required: true }) }
  static override flags = {
    vm: Flags.string({ description: 'Only this VM (repeatable)', multiple: true }),
    json: Flags.boolean({ description: 'Print events and the final report as JSON lines' }),
  }

  async run(): Promise<void> {
    const { args } = await this.parse(MigrationRetry)
    const service = await this.service()
    const m = await service.getMigration(args.id)
    const only = this.flags.vm ?? (await service.listVms(m.id)).filter((v) => v.status !== 'succeeded').map((v) => v.vmKey)
    const { exitCode } = await runAndRender(service, m.id, { json: this.flags.json, output: await this.userSetting('output'), log: (l) => this.log(l), only })
    if (exitCode !== 0) this.exit(exitCode)
  }
}
