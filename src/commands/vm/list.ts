import { dirname } from 'node:path'
import { Flags } from '@oclif/core'
import { BaseCommand } from '../../cli/base-command.js'
import { readPlanFile } from '../../cli/read-plan.js'
import { table } from '../../cli/tables.js'
import { loadGutsConfig } from '../../core/config/load-config.js'
import { listPlanSourceVms } from '../../core/inventory.js'

export default class VmList extends BaseCommand<typeof VmList> {
  static override summary = "List the VMs of a plan's source"
  static override description = 'Connects with the source settings of the plan (credentials from its ${env:…} references) and lists VMs. Read-only.'
  static override examples = ['<%= config.bin %> vm list --plan wave-1.yaml --name "app-*" --power-state on']
  static override flags = {
    plan: Flags.string({ description: 'Plan whose source to list', required: true }),
    name: Flags.string({ description: 'Glob on the VM name' }),
    folder: Flags.string({ description: 'Folder / path prefix' }),
    'power-state': Flags.string({ options: ['on', 'off', 'suspended'], description: 'Only VMs in this power state' }),
    json: Flags.boolean({ description: 'Print as JSON' }),
  }

  async run(): Promise<void> {
    const plan = this.flags.plan
    const { config } = await loadGutsConfig({ from: dirname(plan), ...(this.flags.config ? { explicitPath: this.flags.config } : {}) })
    const query = {
      ...(this.flags.name ? { name: this.flags.name } : {}),
      ...(this.flags.folder ? { folder: this.flags.folder } : {}),
      ...(this.flags['power-state'] ? { powerState: this.flags['power-state'] as 'on' } : {}),
    }
    const vms = await listPlanSourceVms(await readPlanFile(plan), plan, { registry: this.registry(), config }, query, AbortSignal.timeout(300_000))
    if (this.flags.json) return this.log(JSON.stringify(vms, null, 2))
    for (const line of table([['NAME', 'ID', 'POWER', 'FOLDER', 'HOST'], ...vms.map((v) => [v.name, v.id, v.powerState, v.folder ?? '', v.host ?? ''])])) this.log(line)
  }
}
