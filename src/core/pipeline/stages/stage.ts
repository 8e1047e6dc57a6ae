import type { DriverContext, ExportOptions, Finding, TargetMapping } from '@guts/sdk'
import type { WarmSettings } from '../../plan/schema.js'
import type { StateStore } from '../../state/store.js'
import type { Checkpoints } from '../checkpoints.js'
import type { EventListener, Stage } from '../events.js'
import type { VmDrivers } from '../vm-drivers.js'
import type { VmCheckpoint, VmJob } from '../vm-job.js'

/** Everything a stage of one VM works with; built once per VM by runVm. */
export interface StageContext {
  store: StateStore
  migrationId: string
  job: VmJob
  drivers: VmDrivers
  ctx: DriverContext
  checkpoints: Checkpoints
  emit: EventListener
  mapping: TargetMapping
  exportOptions: ExportOptions
  diskConcurrency: number
  /** Compare every file target with its source after the destination's own verify. */
  verify: boolean
  warm: WarmSettings
  /** Runs `fn` without holding the VM's concurrency slots (a warm VM waiting for its next sync). */
  idle: <T>(fn: () => Promise<T>) => Promise<T>
}

/**
 * One step of a VM's migration. `done` reads the checkpoint only, so a resumed VM skips what an
 * earlier process finished; `run` does the work and saves its result with `{ stage: name }`.
 */
export interface VmStage {
  readonly name: Stage
  done(cp: VmCheckpoint): boolean
  run(s: StageContext): Promise<void>
}

export function isWarm(cp: VmCheckpoint): boolean {
  return cp.job?.settings.mode === 'warm'
}

/** Emits findings once each: the core and a driver may both report the same problem (same code and ref). */
export function reportFindings(s: StageContext, findings: readonly Finding[]): void {
  const seen = new Set<string>()
  for (const f of findings) {
    const key = `${f.code}\u0000${f.ref ?? ''}`
    if (!seen.has(key)) s.emit({ type: 'vm.finding', vm: s.job.key, finding: f })
    seen.add(key)
  }
}

export function errorsOf(findings: readonly Finding[]): Finding[] {
  return findings.filter((f) => f.severity === 'error')
}
