import { Flags } from '@oclif/core'
import { BaseCommand } from '../../cli/base-command.js'
import { table } from '../../cli/tables.js'
import type { MigrationSummaryView } from '../../core/service.js'
import { short } from '../../core/short-id.js'

export default class MigrationList extends BaseCommand<typeof MigrationList> {
  static override summary = 'List migrations, newest first'
  static override flags = { limit: Flags.integer({ description: 'At most this many', default: 50 }) }

  async run(): Promise<MigrationSummaryView[]> {
    const rows = await (await this.service()).listMigrationSummaries({ limit: this.flags.limit })
    if (!rows.length) this.log('No migrations yet. Start one with `guts migrate <plan.yaml>`.')
    else this.render(rows)
    return rows.map(({ lease: _lease, ...m }) => m)
  }

  private render(rows: MigrationSummaryView[]): void {
    const at = (t: string | undefined) => t?.replace('T', ' ').slice(0, 19) ?? ''
    const body = rows.map((m) => [
      short(m.id),
      m.name,
      m.interrupted ? 'interrupted' : m.status,
      `${m.vms.filter((v) => v.status === 'succeeded').length}/${m.vms.length}`,
      at(m.createdAt),
      at(m.finishedAt),
    ])
    for (const line of table([['ID', 'NAME', 'STATUS', 'VMS OK', 'CREATED', 'FINISHED'], ...body])) this.log(line)
    for (const m of rows.filter((r) => r.interrupted))
      this.log(
        `${short(m.id)} stopped without finishing: continue it with \`guts migration resume ${short(m.id)}\`, or undo it with \`guts migration cleanup ${short(m.id)}\`.`,
      )
  }
}
