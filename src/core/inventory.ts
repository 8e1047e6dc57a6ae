import { silentLogger, type VmQuery, type VmSummary } from '@guts/sdk'
import type { DriverRegistry } from '../drivers/registry.js'
import { preparePlan, type PrepareEnv } from './plan/prepare-plan.js'

/**
 * Lists the VMs a plan's source has (for `guts vm list` and `guts plan init`), connecting with the
 * plan's own source settings. Read-only.
 */
export async function listPlanSourceVms(text: string, file: string, env: PrepareEnv, query: VmQuery, signal: AbortSignal): Promise<VmSummary[]> {
  const { resolved } = await preparePlan(text, file, env)
  return listVms(env.registry, resolved.plan.source.driver!, resolved.sourceOptions, query, signal)
}

/** The networks the given VMs' NICs are on (for mapping prompts), read with describeVm. */
export async function sourceNetworks(registry: DriverRegistry, driver: string, options: Record<string, unknown>, vms: VmSummary[], signal: AbortSignal): Promise<string[]> {
  const source = await registry.createSource(driver, options)
  const ctx = { signal, log: silentLogger, workDir: '', recordUndo: async () => undefined }
  try {
    await source.connect(ctx)
    const names = new Set<string>()
    for (const vm of vms) for (const nic of (await source.describeVm(vm, ctx)).nics) if (nic.network) names.add(nic.network)
    return [...names].sort()
  } finally {
    await source.dispose()
  }
}

export async function listVms(registry: DriverRegistry, driver: string, options: Record<string, unknown>, query: VmQuery, signal: AbortSignal): Promise<VmSummary[]> {
  const source = await registry.createSource(driver, options)
  const ctx = { signal, log: silentLogger, workDir: '', recordUndo: async () => undefined }
  try {
    await source.connect(ctx)
    const out: VmSummary[] = []
    for await (const vm of source.listVms(query, ctx)) out.push(vm)
    return out.sort((a, b) => a.name.localeCompare(b.name))
  } finally {
    await source.dispose()
  }
}
