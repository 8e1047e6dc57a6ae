import { dirname } from 'node:path'
import { Flags } from '@oclif/core'
import type { VmQuery, VmSummary } from '@guts/sdk'
import { BaseCommand } from '../../cli/base-command.js'
import { inventorySourceOf, withSourceFlagHint } from '../../cli/source-flag.js'
import { table } from '../../cli/tables.js'

export default class VmList extends BaseCommand<typeof VmList> {
  static override summary = 'List the VMs of a source: a profile from guts.config.yaml or a plan'
  static override description =
    'Connects with a source profile of the guts config, or with the source settings of a plan (profiles and ${env:…}/${file:…} references resolved as for a migration), and lists its VMs. Read-only. A --source value is a plan when it is an existing file or ends in .yaml/.yml/.json, otherwise a profile name. Exit 2 for an unknown profile or when no source is given.'
  static override examples = [
    '<%= config.bin %> vm list --source vc-prod --folder /DC0/vm/app --power-state off',
    '<%= config.bin %> vm list --source wave-1.yaml --name "app-*" --json',
  ]
  static override flags = {
    source: Flags.string({
      char: 's',
      description: 'Source profile name (guts.config.yaml profiles.sources) or plan file',
      exclusive: ['plan'],
    }),
    plan: Flags.string({ description: 'Plan whose source to list (same as --source <plan file>)', exclusive: ['source'] }),
    name: Flags.string({ description: 'Glob on the VM name' }),
    folder: Flags.string({ description: 'Folder / path prefix' }),
    'power-state': Flags.string({ options: ['on', 'off', 'suspended'], description: 'Only VMs in this power state' }),
  }

  async run(): Promise<VmSummary[]> {
    const { name, folder } = this.flags
    const power = this.flags['power-state'] as VmQuery['powerState']
    const query: VmQuery = { ...(name ? { name } : {}), ...(folder ? { folder } : {}), ...(power ? { powerState: power } : {}) }
    const { source, planFile } = await inventorySourceOf(this.flags)
    const service = await this.service(planFile ? { configFrom: dirname(planFile) } : {})
    const vms = await service.listSourceVms(source, query).catch((e: unknown) => Promise.reject(withSourceFlagHint(e)))
    for (const line of table([
      ['NAME', 'ID', 'POWER', 'FOLDER', 'HOST'],
      ...vms.map((v) => [v.name, v.id, v.powerState, v.folder ?? '', v.host ?? '']),
    ]))
      this.log(line)
    return vms
  }
}
