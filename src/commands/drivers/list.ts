import { Flags } from '@oclif/core'
import { BaseCommand } from '../../cli/base-command.js'
import { describeDrivers } from '../../drivers/describe-drivers.js'
import { table } from '../../cli/tables.js'

export default class DriversList extends BaseCommand<typeof DriversList> {
  static override summary = 'List the installed source and destination drivers'
  static override description = 'Built-in drivers and those from installed plugins (package.json "guts": {"drivers": …}), with their capabilities.'
  static override flags = { json: Flags.boolean({ description: 'Print as JSON' }) }

  async run(): Promise<void> {
    const rows = await describeDrivers(this.registry())
    if (this.flags.json) return this.log(JSON.stringify(rows, null, 2))
    const lines = table([['NAME', 'ROLE', 'CAPABILITIES', 'PLUGIN', 'VERSION'], ...rows.map((r) => [r.name, r.role, r.error ? `error: ${r.error}` : r.capabilities.join(' '), r.plugin, r.version])])
    for (const line of lines) this.log(line)
  }
}
