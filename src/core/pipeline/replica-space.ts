import { statfs } from 'node:fs/promises'
import type { Finding, VmDescriptor } from '@guts/sdk'

const GiB = 2 ** 30

/**
 * A warm VM keeps a raw replica of every disk in the guts data directory until its cutover. Replicas
 * are sparse, so what they need is the data the disks hold: the source's allocated size where the
 * driver knows it (an error when it does not fit), else the virtual size (a warning: thin disks
 * usually need much less). Skipped when the filesystem cannot be asked.
 */
export async function replicaSpaceFindings(vm: VmDescriptor, workDir: string): Promise<Finding[]> {
  const free = await freeBytes(workDir)
  if (free === undefined) return []
  const known = vm.disks.every((d) => d.allocatedSize !== undefined)
  const needed = vm.disks.reduce((n, d) => n + (d.allocatedSize ?? d.virtualSize), 0)
  if (needed <= free) return []
  const gib = (b: number) => `${(b / GiB).toFixed(1)} GiB`
  return [
    {
      severity: known ? 'error' : 'warning',
      code: 'replica-space',
      ref: vm.name,
      message: `${vm.name}: warm migration keeps replicas of its disks (${gib(needed)}${known ? '' : ' virtual; thin disks need less'}) in ${workDir}, which has ${gib(free)} free. Point the guts data directory (GUTS_DATA_DIR) at a larger filesystem, or use mode: cold or snapshot.`,
    },
  ]
}

/** Bytes free for this user on the filesystem holding `dir`; undefined when it cannot be asked. */
export async function freeBytes(dir: string): Promise<number | undefined> {
  try {
    const s = await statfs(dir)
    return Number(s.bavail) * Number(s.bsize)
  } catch {
    return undefined
  }
}
