import { dirname } from 'node:path'
import { Flags } from '@oclif/core'
import type { VmQuery } from '@guts/sdk'
import { BaseCommand } from '../../cli/base-command.js'
import { readPlanFile } from '../../cli/read-plan.js'
import { table } from '../../cli/tables.js'
import { loadGutsConfig } from '../../core/config/load-config.js'
import { listPlanSourceVms, listProfileVms, listSourceOf, noSourceError } from '../../core/inventory.js'

export default class VmList extends BaseCommand<typeof VmList> {
  static override summary = 'List the VMs of a source: a profile from guts.config.yaml or a plan'
  static override description =
    'Connects with a source profile of the guts config, or with the source settings of a plan (profiles and ${env:…}/${file:…} references resolved as for a migration), and lists its VMs. Read-only. A --source value is a plan when it is an existing file or ends in .yaml/.yml/.json, otherwise a profile name. Exit 2 for an unknown profile or when no source is given.'
  static override examples = [
    '<%= config.bin %> vm list --source vc-prod --folder /DC0/vm/app --power-state off',
    '<%= config.bin %> vm list --source wave-1.yaml --name "app-*" --json',
  ]
  static override flags = {
    source: Flags.string({ char: 's', description: 'Source profile name (guts.config.yaml profiles.sources) or plan file', exclusive: ['plan'] }),
    plan: Flags.string({ description: 'Plan whose source to list (same as --source <plan file>)', exclusive: ['source'] }),
    name: Flags.string({ description: 'Glob on the VM name' }),
    folder: Flags.string({ description: 'Folder / path prefix' }),
    'power-state': Flags.string({ options: ['on', 'off', 'suspended'], description: 'Only VMs in this power state' }),
    json: Flags.boolean({ description: 'Print as JSON' }),
  }

  async run(): Promise<void> {
    const { source, plan, name, folder, json } = this.flags
    const query: VmQuery = {
      ...(name ? { name } : {}),
      ...(folder ? { folder } : {}),
      ...(this.flags['power-state'] ? { powerState: this.flags['power-state'] as NonNullable<VmQuery['powerState']> } : {}),
    }
    const target = listSourceOf({ source, plan })
    const configAt = (from: string) => loadGutsConfig({ from, ...(this.flags.config ? { explicitPath: this.flags.config } : {}) })
    const signal = AbortSignal.timeout(300_000)
    let vms
    if (target?.kind === 'plan') {
      const { config } = await configAt(dirname(target.file))
      vms = await listPlanSourceVms(await readPlanFile(target.file), target.file, { registry: this.registry(), config }, query, signal)
    } else {
      const loaded = await configAt(process.cwd())
      if (!target) throw noSourceError(loaded)
      vms = await listProfileVms(target.name, loaded, { registry: this.registry() }, query, signal)
    }
    if (json) return this.log(JSON.stringify(vms, null, 2))
    for (const line of table([['NAME', 'ID', 'POWER', 'FOLDER', 'HOST'], ...vms.map((v) => [v.name, v.id, v.powerState, v.folder ?? '', v.host ?? ''])])) this.log(line)
  }
}
