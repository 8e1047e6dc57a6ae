import { isGutsError, type Logger } from '@guts/sdk'
import { faultNameOf } from '../client/faults.js'
import { retrieve, type Caller } from '../client/property-collector.js'
import { runTask } from '../client/tasks.js'
import { arr, at, isObject, str, toMoref, type Moref, type XmlValue } from '../client/xml.js'

/**
 * The snapshots guts takes carry the migration's marks in their description, as JSON, so that a
 * process that died between CreateSnapshot_Task and saving its session leaves nothing behind for
 * good: the next run (or `guts migration cleanup`) finds them by their marks and removes them.
 */

/** The description of an export snapshot: readable in the vSphere client, parseable by us. */
export function snapshotDescription(marks: Readonly<Record<string, string>>): string {
  return JSON.stringify({ createdBy: 'guts', purpose: 'migration export; removed when the export ends', marks })
}

/** vSphere limits snapshot names to 80 characters. */
export function snapshotName(marks: Readonly<Record<string, string>>): string {
  return `guts-${marks['guts-migration'] ?? 'export'}`.slice(0, 80)
}

/**
 * True when the description carries every one of `marks` (with the same values). No marks match
 * nothing: "all of no marks" would otherwise select every guts snapshot, other migrations' too.
 */
export function carriesMarks(description: string | undefined, marks: Readonly<Record<string, string>>): boolean {
  const wanted = Object.entries(marks)
  if (!description || !wanted.length) return false
  let parsed: unknown
  try {
    parsed = JSON.parse(description.slice(description.indexOf('{')))
  } catch {
    return false
  }
  const have = (parsed as { marks?: unknown } | null)?.marks
  if (typeof have !== 'object' || have === null || Array.isArray(have)) return false
  return wanted.every(([k, v]) => (have as Record<string, unknown>)[k] === v)
}

export interface SnapshotNode {
  snapshot: Moref
  name: string
  description?: string
}

/** Every snapshot of a VM's tree (`snapshot.rootSnapshotList`, children included), depth first. */
export function snapshotNodes(snapshotInfo: XmlValue | undefined): SnapshotNode[] {
  const out: SnapshotNode[] = []
  const walk = (nodes: XmlValue | undefined): void => {
    for (const n of arr(nodes).filter(isObject)) {
      const snapshot = toMoref(n.snapshot)
      const description = str(n, 'description')
      if (snapshot) out.push({ snapshot, name: str(n, 'name') ?? snapshot.value, ...(description ? { description } : {}) })
      walk(n.childSnapshotList)
    }
  }
  walk(at(snapshotInfo, 'rootSnapshotList'))
  return out
}

/**
 * RemoveSnapshot_Task without its children (they are someone else's), consolidating the disks.
 * A snapshot already gone is fine: removal is idempotent.
 */
export async function removeSnapshot(caller: Caller, snapshot: Moref, signal?: AbortSignal): Promise<boolean> {
  try {
    await runTask(
      caller,
      'RemoveSnapshot_Task',
      { _this: snapshot, removeChildren: false, consolidate: true },
      { timeoutMs: 60 * 60_000, ...(signal ? { signal } : {}) },
    )
    return true
  } catch (error) {
    if (faultNameOf(error) === 'ManagedObjectNotFound' || (isGutsError(error) && error.code === 'GUTS_NOT_FOUND')) return false
    throw error
  }
}

/** Removes the VM's snapshots that carry all `marks`; returns how many were removed. */
export async function releaseLeftovers(
  caller: Caller,
  vmId: string,
  marks: Readonly<Record<string, string>>,
  log: Logger,
  signal?: AbortSignal,
): Promise<number> {
  if (!Object.keys(marks).length) return 0
  const vm: Moref = { type: 'VirtualMachine', value: vmId }
  const [o] = await retrieve(caller, [vm], 'VirtualMachine', ['snapshot'], signal)
  let removed = 0
  for (const node of snapshotNodes(o?.props.snapshot as XmlValue | undefined)) {
    if (!carriesMarks(node.description, marks)) continue
    log.info(`removing leftover export snapshot ${node.name} of ${vmId}`, { vm: vmId, snapshot: node.snapshot.value })
    if (await removeSnapshot(caller, node.snapshot, signal)) removed++
  }
  return removed
}
