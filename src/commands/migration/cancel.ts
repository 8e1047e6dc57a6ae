import { Args } from '@oclif/core'
import { BaseCommand } from '../../cli/base-command.js'
import type { MigrationStatus } from '../../core/state/store.js'

export default class MigrationCancel extends BaseCommand<typeof MigrationCancel> {
  static override summary = 'Cancel a migration'
  static override description =
    'A running migration (in any process on any host sharing the state) stops within seconds and rolls back its unfinished VMs; one that is not running is marked cancelled.'
  static override args = { id: Args.string({ description: 'Migration id (or a unique prefix)', required: true }) }

  async run(): Promise<{ id: string; status: MigrationStatus; cancelRequested: boolean }> {
    const { args } = await this.parse(MigrationCancel)
    const m = await (await this.service()).cancelMigration(args.id)
    this.log(
      m.status === 'running'
        ? `Cancel requested for ${m.id}; it stops and rolls back within a few seconds.`
        : `Migration ${m.id} is ${m.status}.`,
    )
    return { id: m.id, status: m.status, cancelRequested: m.cancelRequested }
  }
}
