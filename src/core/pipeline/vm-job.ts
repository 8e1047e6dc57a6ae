import type {
  DiskFormat,
  DiskSource,
  ExportOptions,
  ExportSession,
  Finding,
  ImportSession,
  InstanceRef,
  JsonObject,
  TargetMapping,
  TransferResult,
  VmDescriptor,
  VmRef,
} from '@guts/sdk'
import type { NetworkMappingEntry, Plan, PlanDefaults, VmEntry } from '../plan/schema.js'
import { parseCheckpoint } from './checkpoint-schema.js'

/** One VM to migrate, with every setting resolved from the plan (defaults merged in). Persisted as JSON. */
export interface VmJob {
  key: string
  ref: VmRef
  host?: string
  /** Index of the plan entry it came from, for messages that point at the plan. */
  planIndex: number
  targetName: string
  settings: Required<Pick<PlanDefaults, 'mode' | 'powerOff'>> & Omit<PlanDefaults, 'mode' | 'powerOff'>
}

/** Where a committed disk landed, kept so verify can read it again after a resume. */
export type DiskCheckpoint = TransferResult & { committed: true; target?: { kind: 'file'; path: string; format: DiskFormat } }

/** What a VM's record holds between stages: enough for any process to resume or roll back. */
export interface VmCheckpoint {
  job?: VmJob
  descriptor?: VmDescriptor
  preflight?: Finding[]
  exportSession?: ExportSession
  importSession?: ImportSession
  disks?: Record<string, DiskCheckpoint>
  instance?: InstanceRef
  verify?: Finding[]
  /** Warm migrations only: the replicas and how far they are synced. */
  warm?: WarmState
  /** When guts powered the source VM off (cold export of a running VM, or warm cutover). */
  poweredOffAt?: string
  /** Source power-off → destination running, once booted. */
  downtime?: { seconds: number; poweredOffAt: string; runningAt: string }
}

/** A warm VM between syncs (plain JSON in the checkpoint). */
export interface WarmState {
  /** Raw replica file of each disk, kept in the VM's work directory until cutover is done. */
  replicas: Record<string, string>
  /** Each disk's change id as of the last completed sync: where the next delta starts. */
  changeIds: Record<string, string>
  /** Completed syncs (1 = the full sync). */
  syncs: number
  lastSyncAt: string
  /** Set once the final sync after the power-off completed. */
  cutOver?: boolean
}

/**
 * A stored checkpoint, validated (see checkpoint-schema.ts): throws GUTS_STATE_ERROR naming the VM
 * and the bad path for a corrupted or foreign record. `vmKey` names the VM when the record has no job.
 */
export function asCheckpoint(json: JsonObject, vmKey?: string): VmCheckpoint {
  // The schema checks what the stages rely on; the interfaces above stay the documented types.
  return parseCheckpoint(json, vmKey) as unknown as VmCheckpoint
}

export function toJson(value: unknown): JsonObject {
  return value as JsonObject
}

/** Settings for one plan entry: the entry's own, else the plan's defaults, else guts' defaults. */
export function settingsFor(entry: VmEntry, defaults: PlanDefaults): VmJob['settings'] {
  const pick = <K extends keyof PlanDefaults>(k: K) => (entry[k] ?? defaults[k]) as PlanDefaults[K]
  return {
    mode: pick('mode') ?? 'cold',
    powerOff: pick('powerOff') ?? 'shutdown',
    ...defined({
      flavor: pick('flavor'),
      bootFrom: pick('bootFrom'),
      diskFormat: pick('diskFormat'),
      securityGroups: pick('securityGroups'),
      keyPair: pick('keyPair'),
      availabilityZone: pick('availabilityZone'),
      volumeType: pick('volumeType'),
      networks: mergeNetworks(defaults.networks, entry.networks),
    }),
  }
}

/** A VM's own mappings replace the defaults' mapping for the same source network; the rest are kept. */
function mergeNetworks(
  defaults: NetworkMappingEntry[] | undefined,
  own: NetworkMappingEntry[] | undefined,
): NetworkMappingEntry[] | undefined {
  if (!defaults && !own) return undefined
  const byFrom = new Map<string, NetworkMappingEntry>()
  for (const n of defaults ?? []) byFrom.set(n.from, n)
  for (const n of own ?? []) byFrom.set(n.from, n)
  return [...byFrom.values()]
}

/** The destination's view of a job: settings plus the marks that identify what guts creates. */
export function targetMapping(job: VmJob, migrationId: string, options: JsonObject): TargetMapping {
  const s = job.settings
  return {
    name: job.targetName,
    networks: (s.networks ?? []).map((n) => ({ from: n.from, to: n.to, keepMac: n.keepMac, ...(n.fixedIp ? { fixedIp: n.fixedIp } : {}) })),
    tags: marksFor(job, migrationId),
    options,
    ...defined({
      flavor: s.flavor,
      bootFrom: s.bootFrom,
      diskFormat: s.diskFormat,
      securityGroups: s.securityGroups,
      keyPair: s.keyPair,
      availabilityZone: s.availabilityZone,
      volumeType: s.volumeType,
    }),
  }
}

/** Marks that identify what guts takes at the source and creates at the destination for this VM. */
export function marksFor(job: VmJob, migrationId: string): Record<string, string> {
  return { 'guts-migration': migrationId, 'guts-source-vm': job.ref.id }
}

export function exportOptionsFor(job: VmJob, migrationId: string): ExportOptions {
  // Warm syncs are snapshot exports with change tracking; the warm loop drives them.
  const warm = job.settings.mode === 'warm'
  return {
    mode: job.settings.mode === 'cold' ? 'cold' : 'snapshot',
    powerOff: job.settings.powerOff,
    marks: marksFor(job, migrationId),
    ...(warm ? { changeTracking: true } : {}),
  }
}

export type { Plan, DiskSource }

function defined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}
