import { labCmd } from './hyperv-lab.js'

/**
 * The lab VMs the warm tests own (test/lab/hyperv/host-seed.json; LAB-NOTES.md): running,
 * generation 2, VHDX disks with Resilient Change Tracking, and one without (configuration 5.0).
 * A cutover leaves a VM off: `restore` ones are started again after the tests.
 */
export const WARM_VMS = {
  local: { name: 'warm01', restore: true },
  reset: { name: 'warm02', restore: true },
  resume: { name: 'warm03', restore: true },
  openstack: { name: 'warm04', restore: true },
  noRct: { name: 'warm-v5', restore: false },
} as const

/** What `hyperv-lab.sh rct-info NAME` says of a VM: its disks' change tracking, checkpoints, reference points. */
export interface RctInfo {
  vm: string
  state: string
  disks: { index: number; path: string; rctId: string; granularity: number; size: number; keptPoints: string[] }[]
  referencePoints: { InstanceID?: string; instanceId?: string }[]
  checkpoints: { name: string }[]
}

export function rctInfo(vm: string): RctInfo {
  return JSON.parse(labCmd('rct-info', vm)) as RctInfo
}

/** One line of `guts migrate --json` (the fields the warm tests read). */
export interface MigrateEvent {
  type: string
  kind?: string
  bytesChanged?: number
  bytesMoved?: number
  migrationId?: string
  seconds?: number
  message?: string
  level?: string
}
