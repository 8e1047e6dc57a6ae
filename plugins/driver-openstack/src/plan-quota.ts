import type { DriverContext, Finding, PlannedVm } from '@guts/sdk'
import type { OpenStackClient } from './client/index.js'
import { resolveFlavor } from './flavor.js'
import { gibCeil } from './image-properties.js'
import type { OpenStackOptions } from './options.js'
import { planImport, rootDiskGiB } from './session.js'

/** What one VM will take from each quota. */
export interface Needs {
  name: string
  instances: number
  cores: number
  ram: number
  volumes: number
  gigabytes: number
  ports: number
}

type Quota = Exclude<keyof Needs, 'name'>

/**
 * The project's quotas against the whole plan: instances, cores and RAM (from each VM's chosen
 * flavor), volumes and gigabytes (boot volume with bootFrom volume, plus data disks), and ports
 * (mapped NICs). One finding per quota the plan overruns, naming each VM and what it needs.
 * Problems of a single VM (unknown flavor, unsupported format) are left to its own preflight.
 */
export async function planQuotaFindings(
  client: OpenStackClient,
  options: OpenStackOptions,
  vms: readonly PlannedVm[],
  ctx: DriverContext,
): Promise<Finding[]> {
  const { signal } = ctx
  const flavors = await client.nova.flavors(signal)
  const needs: Needs[] = []
  for (const { vm, mapping } of vms) {
    let plan
    try {
      plan = planImport(vm, mapping, options)
    } catch {
      continue
    }
    const resolved = resolveFlavor(flavors, plan.flavor, { vcpus: plan.cpus, ramMiB: plan.memoryMiB, diskGiB: rootDiskGiB(plan) })
    const flavor = 'flavor' in resolved ? resolved.flavor : undefined
    const volumes = plan.disks.filter((d) => d.volumeName)
    needs.push({
      name: vm.name,
      instances: 1,
      cores: flavor?.vcpus ?? plan.cpus,
      ram: flavor?.ram ?? plan.memoryMiB,
      volumes: volumes.length,
      gigabytes: volumes.reduce((sum, d) => sum + gibCeil(d.virtualSize), 0),
      ports: plan.nics.filter((n) => n.network).length,
    })
  }
  if (!needs.length) return []

  const total = (q: Quota) => needs.reduce((sum, n) => sum + n[q], 0)
  const compute = await client.nova.limits(signal)
  const rows: [Quota, number, number, string][] = [
    ['instances', compute.maxTotalInstances, compute.totalInstancesUsed, ''],
    ['cores', compute.maxTotalCores, compute.totalCoresUsed, ''],
    ['ram', compute.maxTotalRAMSize, compute.totalRAMUsed, ' MiB'],
  ]
  if (total('volumes')) {
    const block = await client.cinder.limits(signal)
    rows.push(
      ['volumes', block.maxTotalVolumes, block.totalVolumesUsed, ''],
      ['gigabytes', block.maxTotalVolumeGigabytes, block.totalGigabytesUsed, ' GiB'],
    )
  }
  if (total('ports')) {
    const ports = await client.neutron.portQuota(await client.http.projectId(signal), signal)
    if (ports) rows.push(['ports', ports.limit, ports.used + ports.reserved, ''])
  }
  return rows
    .map(([quota, limit, used, unit]) => planQuotaFinding(quota, needs, limit, used, unit))
    .filter((f): f is Finding => f !== undefined)
}

/** The finding for one quota (-1 = unlimited), or undefined when the whole plan fits. */
export function planQuotaFinding(quota: Quota, needs: readonly Needs[], limit: number, used: number, unit: string): Finding | undefined {
  const needing = needs.filter((n) => n[quota] > 0)
  const need = needing.reduce((sum, n) => sum + n[quota], 0)
  if (need <= 0 || limit < 0 || used + need <= limit) return undefined
  const who = needing.map((n) => `${n.name} needs ${n[quota]}${unit}`).join(', ')
  return {
    severity: 'error',
    code: `plan-quota-${quota}`,
    message: `The project's ${quota} quota is too small for the plan: ${who} (${need}${unit} together), but only ${Math.max(0, limit - used)}${unit} of ${limit}${unit} are left.`,
    ref: needing.map((n) => n.name).join(', '),
  }
}
