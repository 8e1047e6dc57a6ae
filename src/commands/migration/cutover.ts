import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../../cli/base-command.js'
import { short } from '../../core/short-id.js'

export default class MigrationCutover extends BaseCommand<typeof MigrationCutover> {
  static override summary = 'Cut over the warm VMs of a migration'
  static override description =
    'The process running the migration (on any host sharing the state) powers the source VMs off, syncs their last changes, imports and boots them at the destination, and reports the downtime of each. A migration that is not running cuts over as soon as it is resumed.'
  static override examples = [
    '<%= config.bin %> migration cutover 3f2a91c0',
    '<%= config.bin %> migration cutover 3f2a91c0 --vm web-01 --vm web-02',
  ]
  static override args = { id: Args.string({ description: 'Migration id (or a unique prefix)', required: true }) }
  static override flags = {
    vm: Flags.string({ description: 'Only this VM (repeatable); default: every warm VM not yet cut over', multiple: true }),
  }

  async run(): Promise<{ id: string; vms: string[]; running: boolean }> {
    const { args } = await this.parse(MigrationCutover)
    const r = await (await this.service()).requestCutover(args.id, this.flags.vm ?? [])
    const who = r.vms.join(', ')
    this.log(
      r.live
        ? `Cutover requested for ${who}; the running migration powers them off and finishes within its next second of polling.`
        : `Cutover recorded for ${who}; migration ${r.migration.id} is not running: \`guts migration resume ${short(r.migration.id)}\` cuts over.`,
    )
    return { id: r.migration.id, vms: r.vms, running: r.live }
  }
}
