import type { JsonObject } from '@guts/sdk'
import { asCheckpoint } from './pipeline/vm-job.js'
import type { MigrationRecord, MigrationStatus, VmRecord, VmStatus } from './state/store.js'

/** The final (or current) state of a migration, for `--json`, `migration show` and the REST API. */
export interface MigrationReport {
  id: string
  name: string
  status: MigrationStatus
  createdAt: string
  startedAt?: string
  finishedAt?: string
  seconds?: number
  vms: VmReport[]
}

export interface VmReport {
  name: string
  status: VmStatus
  stage?: string
  target?: string
  instance?: { id: string; data: JsonObject }
  error?: JsonObject
  /** Source power-off → destination running, when guts powered the source off (warm cutover, cold export). */
  downtime?: { seconds: number; poweredOffAt: string; runningAt: string }
  /** Warm VMs: completed syncs and when the last one finished. */
  warm?: { syncs: number; lastSyncAt: string; cutOver: boolean }
  disks: { id: string; virtualSize: number; route?: string; bytesWritten?: number; sha256?: string }[]
}

export function buildReport(m: MigrationRecord, vms: VmRecord[]): MigrationReport {
  const seconds = m.startedAt && m.finishedAt ? (Date.parse(m.finishedAt) - Date.parse(m.startedAt)) / 1000 : undefined
  return {
    id: m.id,
    name: m.name,
    status: m.status,
    createdAt: m.createdAt,
    ...(m.startedAt ? { startedAt: m.startedAt } : {}),
    ...(m.finishedAt ? { finishedAt: m.finishedAt } : {}),
    ...(seconds !== undefined ? { seconds } : {}),
    vms: vms.map((v) => {
      const cp = asCheckpoint(v.checkpoint)
      return {
        name: v.vmKey,
        status: v.status,
        ...(v.stage ? { stage: v.stage } : {}),
        ...(cp.job ? { target: cp.job.targetName } : {}),
        ...(cp.instance ? { instance: cp.instance } : {}),
        ...(v.error ? { error: v.error } : {}),
        ...(cp.downtime ? { downtime: cp.downtime } : {}),
        ...(cp.warm ? { warm: { syncs: cp.warm.syncs, lastSyncAt: cp.warm.lastSyncAt, cutOver: Boolean(cp.warm.cutOver) } } : {}),
        disks: (cp.descriptor?.disks ?? []).map((d) => {
          const done = cp.disks?.[d.id]
          return {
            id: d.id,
            virtualSize: d.virtualSize,
            ...(done ? { route: done.route, bytesWritten: done.bytesWritten, ...(done.sha256 ? { sha256: done.sha256 } : {}) } : {}),
          }
        }),
      }
    }),
  }
}

/** Exit codes, documented in `guts migrate --help`. */
export const EXIT = { ok: 0, failed: 1, usage: 2, partial: 68, running: 69, cancelled: 130 } as const

export function exitCodeFor(status: MigrationStatus): number {
  switch (status) {
    case 'succeeded':
      return EXIT.ok
    case 'partial':
      return EXIT.partial
    case 'cancelled':
      return EXIT.cancelled
    case 'running':
    case 'pending':
      return EXIT.running
    default:
      return EXIT.failed
  }
}
