import { GutsError } from '@guts/sdk'
import { retrieve, type Caller } from './client/property-collector.js'
import { isMoref, type Moref } from './client/xml.js'

/**
 * The inventory path of the datacenter a VM is in (`DC0`, or `Europe/DC1` when datacenters sit in
 * folders): datastore HTTP (`/folder?dcPath=`) names datacenters this way. Found by walking the
 * VM's parents up to the root folder, a few small calls; a VM in a vApp has `parentVApp` instead
 * of `parent`, and the walk goes through the vApp and its resource pools.
 */
export async function datacenterPath(caller: Caller, vmId: string, signal?: AbortSignal): Promise<string> {
  const [vm] = await retrieve(caller, [{ type: 'VirtualMachine', value: vmId }], 'VirtualMachine', ['parent', 'parentVApp'], signal)
  let cur = [vm?.props.parent, vm?.props.parentVApp].find(isMoref) as Moref | undefined
  const names: string[] = []
  let inDatacenter = false
  for (let guard = 0; cur && guard < 100; guard++) {
    const [o] = await retrieve(caller, [cur], cur.type, ['name', 'parent'], signal)
    const parent = o?.props.parent
    if (cur.type === 'Datacenter') inDatacenter = true
    // Above the datacenter: its folders, but not the root folder (the one without a parent).
    if (inDatacenter && isMoref(parent)) names.unshift(String(o?.props.name ?? cur.value))
    cur = isMoref(parent) ? parent : undefined
  }
  if (!inDatacenter)
    throw new GutsError('GUTS_DRIVER_ERROR', `Could not find the datacenter of VM ${vmId} (no Datacenter among its parents).`)
  return names.join('/')
}
