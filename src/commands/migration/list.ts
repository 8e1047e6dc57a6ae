import { Flags } from '@oclif/core'
import { BaseCommand } from '../../cli/base-command.js'
import { table } from '../../cli/tables.js'
import { short } from '../../core/service.js'

export default class MigrationList extends BaseCommand<typeof MigrationList> {
  static override summary = 'List migrations, newest first'
  static override flags = {
    json: Flags.boolean({ description: 'Print as JSON' }),
    limit: Flags.integer({ description: 'At most this many', default: 50 }),
  }

  async run(): Promise<void> {
    const service = await this.service()
    const migrations = await service.listMigrations({ limit: this.flags.limit })
    const rows = await Promise.all(migrations.map(async (m) => ({ ...m, vms: await service.listVms(m.id) })))
    if (this.flags.json) {
      return this.log(JSON.stringify(rows.map(({ planText: _omit, ...m }) => ({ ...m, vms: m.vms.map((v) => ({ name: v.vmKey, status: v.status, stage: v.stage })) })), null, 2))
    }
    if (!rows.length) return this.log('No migrations yet. Start one with `guts migrate <plan.yaml>`.')
    const interrupted = rows.filter((m) => m.interrupted)
    const body = rows.map((m) => {
      const ok = m.vms.filter((v) => v.status === 'succeeded').length
      return [short(m.id), m.name, m.interrupted ? 'interrupted' : m.status, `${ok}/${m.vms.length}`, m.createdAt.replace('T', ' ').slice(0, 19), m.finishedAt?.replace('T', ' ').slice(0, 19) ?? '']
    })
    for (const line of table([['ID', 'NAME', 'STATUS', 'VMS OK', 'CREATED', 'FINISHED'], ...body])) this.log(line)
    for (const m of interrupted) this.log(`${short(m.id)} stopped without finishing: continue it with \`guts migration resume ${short(m.id)}\`, or undo it with \`guts migration cleanup ${short(m.id)}\`.`)
  }
}
