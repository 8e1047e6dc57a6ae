import { Args } from '@oclif/core'
import { BaseCommand } from '../../cli/base-command.js'
import type { MigrationStatus } from '../../core/state/store.js'

export default class MigrationCleanup extends BaseCommand<typeof MigrationCleanup> {
  static override summary = 'Delete what failed or interrupted VMs of a migration left behind'
  static override description =
    'Replays the undo log of every VM that did not succeed (newest first) and releases source exports. Idempotent: safe to run again.'
  static override args = { id: Args.string({ description: 'Migration id (or a unique prefix)', required: true }) }

  async run(): Promise<{ id: string; status: MigrationStatus; cleaned: string[]; failed: string[] }> {
    const { args } = await this.parse(MigrationCleanup)
    const r = await (
      await this.service()
    ).cleanup(args.id, (e) => {
      if (e.type === 'vm.rollback') this.logToStderr(`${e.vm}: rollback ${e.state}${e.message ? ` (${e.message})` : ''}`)
    })
    this.log(
      r.cleaned.length || r.failed.length
        ? `Cleaned ${r.cleaned.length} VM(s)${r.failed.length ? `; ${r.failed.length} failed: ${r.failed.join(', ')}` : ''}.`
        : 'Nothing to clean up.',
    )
    this.exitCode(r.failed.length ? 1 : 0)
    return { id: r.migration.id, status: r.migration.status, cleaned: r.cleaned, failed: r.failed }
  }
}
