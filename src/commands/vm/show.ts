import { dirname } from 'node:path'
import { Args, Flags } from '@oclif/core'
import { GutsError, type VmDescriptor } from '@guts/sdk'
import { BaseCommand } from '../../cli/base-command.js'
import { bytes } from '../../cli/render/format.js'
import { inventorySourceOf, withSourceFlagHint } from '../../cli/source-flag.js'
import { table } from '../../cli/tables.js'
import { sourceFlagText, withVmLookupHints } from '../../cli/vm-lookup-hints.js'

export default class VmShow extends BaseCommand<typeof VmShow> {
  static override summary = 'Show one VM of a source as guts sees it: firmware, CPUs, memory, OS, disks and NICs'
  static override description =
    'Connects with a source profile of the guts config or with the source settings of a plan (as `vm list` does) and prints what the driver describes of one VM — what a migration of it would start from. Read-only. NAME must be the exact name (case-sensitive; glob characters are not patterns here); when several VMs share it, pick one with --id. Exit 1 when there is no such VM, 2 when neither NAME nor --id is given or the source is unknown.'
  static override examples = [
    '<%= config.bin %> vm show app-01 --source vc-prod',
    '<%= config.bin %> vm show --id vm-1042 --source wave-1.yaml --json',
  ]
  static override args = {
    name: Args.string({ description: 'Exact VM name (omit with --id)', required: false }),
  }
  static override flags = {
    source: Flags.string({
      char: 's',
      description: 'Source profile name (guts.config.yaml profiles.sources) or plan file',
      exclusive: ['plan'],
    }),
    plan: Flags.string({ description: 'Plan whose source the VM is on (same as --source <plan file>)', exclusive: ['source'] }),
    id: Flags.string({ description: "The VM's id at the source (as `vm list` shows it), instead of NAME" }),
  }

  async run(): Promise<VmDescriptor> {
    const { args } = await this.parse(VmShow)
    const { id } = this.flags
    if (!args.name === !id)
      throw new GutsError('GUTS_USAGE', id ? 'Give either a VM name or --id, not both.' : 'Say which VM: its exact name, or --id <id>.', {
        suggestions: ['e.g. guts vm show app-01 --source vc-prod', 'guts vm list --source <profile|plan> shows names and ids.'],
      })
    const { source, planFile } = await inventorySourceOf(this.flags)
    const service = await this.service(planFile ? { configFrom: dirname(planFile) } : {})
    const vm = await service
      .describeSourceVm(source, id ? { id } : { name: args.name! })
      .catch((e: unknown) =>
        Promise.reject(
          withVmLookupHints(
            withSourceFlagHint(e, { which: 'the VM is on', example: 'guts vm show app-01 --source vc-prod' }),
            sourceFlagText(this.flags),
          ),
        ),
      )
    if (!this.jsonEnabled()) this.render(vm)
    return vm
  }

  private render(vm: VmDescriptor): void {
    const os = [vm.os.distro, vm.os.version].filter(Boolean).join(' ')
    const facts = [
      ['NAME', vm.name],
      ['ID', vm.id],
      ['HOST', vm.host ?? '-'],
      ['FOLDER', vm.folder ?? '-'],
      ['POWER', vm.powerState],
      ['CPUS', String(vm.cpus)],
      ['MEMORY', `${vm.memoryMiB} MiB`],
      ['FIRMWARE', `${vm.firmware}${vm.firmware === 'uefi' ? `, secure boot ${vm.secureBoot ? 'on' : 'off'}` : ''}`],
      ['OS', `${vm.os.family}${os ? ` (${os})` : ''}`],
    ]
    for (const line of table(facts)) this.log(line)
    this.log('')
    this.log('DISKS')
    const disks = [...vm.disks].sort((a, b) => a.index - b.index)
    const diskRows = disks.map((d) => [
      d.id,
      String(d.index),
      bytes(d.virtualSize),
      d.allocatedSize === undefined ? '-' : bytes(d.allocatedSize),
      d.format,
      d.controller ?? '-',
      d.name ?? '',
    ])
    for (const line of table([['ID', 'INDEX', 'SIZE', 'ALLOCATED', 'FORMAT', 'CONTROLLER', 'NAME'], ...diskRows])) this.log(line)
    this.log('')
    this.log('NICS')
    const nicRows = vm.nics.map((n) => [n.id, n.mac, n.network, n.model ?? '-', n.ipAddresses?.join(', ') || '-'])
    for (const line of table([['ID', 'MAC', 'NETWORK', 'MODEL', 'IPS'], ...nicRows])) this.log(line)
  }
}
