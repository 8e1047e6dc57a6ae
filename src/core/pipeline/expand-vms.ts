import { GutsError, type DriverContext, type SourceDriver, type VmSummary } from '@guts/sdk'
import type { Plan } from '../plan/schema.js'
import { settingsFor, type VmJob } from './vm-job.js'

export interface ExpandResult {
  jobs: VmJob[]
  /** Plan entries that matched nothing: reported as failed VMs, the rest still migrate. */
  missing: { key: string; planIndex: number; error: GutsError }[]
}

/**
 * Turns the plan's VM entries (by name, by id, or by folder/name match) into concrete jobs, asking the
 * source's inventory. A VM selected by two entries is migrated once, with the first entry's settings.
 */
export async function expandVms(plan: Plan, source: SourceDriver, ctx: DriverContext): Promise<ExpandResult> {
  const jobs: VmJob[] = []
  const missing: ExpandResult['missing'] = []
  const taken = new Set<string>()
  let inventory: VmSummary[] | undefined
  const all = async () => (inventory ??= await collect(source.listVms({}, ctx)))

  for (const [i, entry] of plan.vms.entries()) {
    let found: VmSummary[]
    if (entry.match) {
      found = await collect(
        source.listVms(
          { ...(entry.match.name ? { name: entry.match.name } : {}), ...(entry.match.folder ? { folder: entry.match.folder } : {}) },
          ctx,
        ),
      )
    } else if (entry.name !== undefined) {
      found = (await collect(source.listVms({ name: entry.name }, ctx))).filter((v) => v.name === entry.name)
    } else {
      found = (await all()).filter((v) => v.id === entry.id)
    }
    if (!found.length) {
      const what = entry.match
        ? `matching ${JSON.stringify(entry.match)}`
        : entry.name !== undefined
          ? `named "${entry.name}"`
          : `with id "${entry.id}"`
      missing.push({
        key: entry.name ?? entry.id ?? `vms[${i}]`,
        planIndex: i,
        error: new GutsError('GUTS_NOT_FOUND', `No VM ${what} at the source.`, {
          ref: `vms[${i}]`,
          suggestions: ['List the VMs the source has (`guts vm list` with this plan as the source).'],
        }),
      })
      continue
    }
    if (found.length > 1 && !entry.match) {
      missing.push({
        key: entry.name ?? `vms[${i}]`,
        planIndex: i,
        error: new GutsError('GUTS_CONFLICT', `${found.length} VMs are named "${entry.name}" at the source; select it by id instead.`, {
          ref: `vms[${i}]`,
        }),
      })
      continue
    }
    for (const vm of found) {
      if (taken.has(vm.name)) continue
      taken.add(vm.name)
      jobs.push({
        key: vm.name,
        ref: { id: vm.id, name: vm.name },
        planIndex: i,
        targetName: entry.targetName ?? vm.name,
        settings: settingsFor(entry, plan.defaults),
        ...(vm.host ? { host: vm.host } : {}),
      })
    }
  }
  return { jobs, missing }
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}
