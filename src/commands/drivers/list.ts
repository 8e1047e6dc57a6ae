import { BaseCommand } from '../../cli/base-command.js'
import { table } from '../../cli/tables.js'
import type { DriverRow } from '../../core/service.js'

export default class DriversList extends BaseCommand<typeof DriversList> {
  static override summary = 'List the installed source and destination drivers'
  static override description =
    'Built-in drivers and those from installed plugins (package.json "guts": {"drivers": …}), with their capabilities.'

  async run(): Promise<DriverRow[]> {
    const rows = await (await this.service()).listDrivers()
    const lines = table([
      ['NAME', 'ROLE', 'CAPABILITIES', 'PLUGIN', 'VERSION'],
      ...rows.map((r) => [r.name, r.role, r.error ? `error: ${r.error}` : r.capabilities.join(' '), r.plugin, r.version]),
    ])
    for (const line of lines) this.log(line)
    return rows
  }
}
