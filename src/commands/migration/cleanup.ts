import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../../cli/base-command.js'

export default class MigrationCleanup extends BaseCommand<typeof MigrationCleanup> {
  static override summary = 'Delete what failed or interrupted VMs of a migration left behind'
  static override description = 'Replays the undo log of every VM that did not succeed (newest first) and releases source exports. Idempotent: safe to run again.'
  static override args = { id: Args.string({ description: 'Migration id (or a unique prefix)', required: true }) }
  static override flags = { json: Flags.boolean({ description: 'Print the result as JSON' }) }

  async run(): Promise<void> {
    const { args } = await this.parse(MigrationCleanup)
    const service = await this.service()
    const r = await service.cleanup(args.id, (e) => {
      if (!this.flags.json && e.type === 'vm.rollback') this.logToStderr(`${e.vm}: rollback ${e.state}${e.message ? ` (${e.message})` : ''}`)
    })
    if (this.flags.json) return this.log(JSON.stringify({ id: r.migration.id, status: r.migration.status, cleaned: r.cleaned, failed: r.failed }))
    this.log(r.cleaned.length || r.failed.length ? `Cleaned ${r.cleaned.length} VM(s)${r.failed.length ? `; ${r.failed.length} failed: ${r.failed.join(', ')}` : ''}.` : 'Nothing to clean up.')
    if (r.failed.length) this.exit(1)
  }
}
