import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../../cli/base-command.js'
import { table } from '../../cli/tables.js'
import { bytes } from '../../cli/render/format.js'
import type { MigrationReport } from '../../core/report.js'
import type { EventRecord } from '../../core/state/store.js'
import { short } from '../../core/short-id.js'

export default class MigrationShow extends BaseCommand<typeof MigrationShow> {
  static override summary = 'Show a migration: its VMs, stages, disks and errors'
  static override args = { id: Args.string({ description: 'Migration id (or a unique prefix of at least 4 characters)', required: true }) }
  static override flags = { events: Flags.boolean({ description: 'Also print the event history' }) }

  async run(): Promise<MigrationReport & { events?: EventRecord[] }> {
    const { args } = await this.parse(MigrationShow)
    const service = await this.service()
    const report = await service.report(args.id)
    const events = this.flags.events ? await service.events(report.id) : undefined
    if (!this.jsonEnabled()) this.render(report, events)
    return { ...report, ...(events ? { events } : {}) }
  }

  private render(report: MigrationReport, events: EventRecord[] | undefined): void {
    this.log(`${report.id}  ${report.name}  ${report.status}${report.seconds !== undefined ? `  ${report.seconds.toFixed(1)}s` : ''}`)
    const rows = report.vms.map((v) => [
      v.name,
      v.status,
      v.stage ?? '',
      v.target ?? '',
      v.error ? String(v.error.message) : (v.instance?.id ?? ''),
    ])
    for (const line of table([['VM', 'STATUS', 'STAGE', 'TARGET', 'INSTANCE / ERROR'], ...rows])) this.log(line)
    for (const v of report.vms) {
      if (v.warm)
        this.log(
          `  ${v.name} warm: ${v.warm.syncs} sync(s), last ${v.warm.lastSyncAt}${v.warm.cutOver ? ', cut over' : ' — `guts migration cutover ' + short(report.id) + '` when ready'}`,
        )
      if (v.downtime)
        this.log(
          `  ${v.name} downtime ${v.downtime.seconds.toFixed(1)}s (source off ${v.downtime.poweredOffAt} → running ${v.downtime.runningAt})`,
        )
    }
    for (const v of report.vms)
      for (const d of v.disks)
        this.log(
          `  ${v.name} ${d.id}: ${bytes(d.virtualSize)}${d.route ? ` via ${d.route}` : ' (not transferred)'}${d.sha256 ? ` sha256=${d.sha256}` : ''}`,
        )
    for (const e of events ?? []) this.log(`${e.at} #${e.seq} ${e.type}${e.vmKey ? ` ${e.vmKey}` : ''} ${JSON.stringify(e.data)}`)
  }
}
