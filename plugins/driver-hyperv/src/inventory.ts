import type { VmDescriptor, VmQuery, VmRef, VmSummary } from '@guts/sdk'
import { GutsError } from '@guts/sdk'
import { summary, toDescriptor } from './describe.js'
import { DescribeSchema, ListSchema, parseHostAnswer } from './host-model.js'
import { wildcardRegExp } from './glob.js'
import { DESCRIBE_VMS, LIST_VMS } from './scripts/inventory.js'
import type { PowerShellRunner } from './transport/powershell.js'

export interface InventoryDeps {
  ps: PowerShellRunner
  /** The host as configured (for messages until the host named itself). */
  host: string
  signal?: AbortSignal
}

/** Every VM of the host that matches the query, from one script. Hyper-V has no folders: a folder query matches nothing. */
export async function listVms(query: VmQuery, d: InventoryDeps): Promise<VmSummary[]> {
  const r = parseHostAnswer(ListSchema, await d.ps.run({ op: 'list-vms', body: LIST_VMS }, d.signal), d.host, 'list-vms')
  if (query.folder && query.folder !== '/') return []
  const re = query.name ? wildcardRegExp(query.name) : undefined
  return r.VMs.map((vm) => summary(vm, r.Host)).filter(
    (vm) => (!re || re.test(vm.name)) && (!query.powerState || vm.powerState === query.powerState),
  )
}

/** One VM with its disk chains, NICs, checkpoints and guest facts. Unknown id → GUTS_NOT_FOUND. */
export async function describeVm(vm: VmRef, d: InventoryDeps): Promise<VmDescriptor> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(vm.id)) {
    throw new GutsError('GUTS_NOT_FOUND', `${vm.name || vm.id}: "${vm.id}" is not a Hyper-V VM id (a GUID, as guts vm list shows it).`, {
      ref: vm.name || vm.id,
    })
  }
  const raw = await d.ps.run({ op: 'describe', body: DESCRIBE_VMS, args: { id: vm.id, disks: true } }, d.signal)
  const r = parseHostAnswer(DescribeSchema, raw, d.host, 'describe')
  const found = r.VMs.find((v) => v.Id.toLowerCase() === vm.id.toLowerCase())
  if (!found)
    throw new GutsError('GUTS_NOT_FOUND', `Hyper-V host ${r.Host} has no VM with id ${vm.id} (${vm.name}).`, { ref: vm.name || vm.id })
  return toDescriptor(found, r.Host)
}
