import type { StateStore, VmPatch } from '../state/store.js'
import type { Stage } from './events.js'
import { toJson, type VmCheckpoint } from './vm-job.js'

/** A change to a checkpoint: the keys given replace the stored ones; `null` clears a key. */
export type CheckpointPatch = { [K in keyof VmCheckpoint]?: VmCheckpoint[K] | null }

/** What a rolled-back VM keeps (its job and descriptor), so a retry starts clean. */
export const ROLLED_BACK: CheckpointPatch = {
  preflight: null,
  exportSession: null,
  importSession: null,
  disks: null,
  instance: null,
  verify: null,
  warm: null,
  poweredOffAt: null,
  downtime: null,
}

/**
 * Writes a checkpoint patch to the store, with any status fields of the same record update. The
 * one place a checkpoint is written: through {@link Checkpoints.save} while a VM runs, directly by
 * the migration-level steps (a job queued, a plan-wide preflight, a cleanup) that hold no VM copy.
 */
export async function storeCheckpoint(
  store: StateStore,
  migrationId: string,
  vmKey: string,
  patch: CheckpointPatch,
  record: Omit<VmPatch, 'checkpoint'> = {},
): Promise<void> {
  await store.upsertVm(migrationId, vmKey, { ...record, checkpoint: toJson(patch) })
}

/**
 * One VM's checkpoint, the in-memory copy and the stored record kept together: every stage, the
 * warm loop and the disk transfer save through `save`, so what a resumed process reads back is
 * exactly what this one acted on.
 */
export class Checkpoints {
  private cp: VmCheckpoint

  constructor(
    private readonly store: StateStore,
    private readonly migrationId: string,
    private readonly vmKey: string,
    initial: VmCheckpoint,
  ) {
    this.cp = initial
  }

  get current(): VmCheckpoint {
    return this.cp
  }

  /** Applies `patch` here and in the store; with `stage`, also records that stage as the VM's last one done. */
  async save(patch: CheckpointPatch, options: { stage?: Stage } = {}): Promise<void> {
    const next: Record<string, unknown> = { ...this.cp }
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete next[key]
      else if (value !== undefined) next[key] = value
    }
    this.cp = next as VmCheckpoint
    await storeCheckpoint(this.store, this.migrationId, this.vmKey, patch, options.stage ? { status: 'running', stage: options.stage } : {})
  }
}
