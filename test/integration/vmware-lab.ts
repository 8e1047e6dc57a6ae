import { readFileSync } from 'node:fs'
import { labGate } from '../helpers/lab-gate.js'
import { silentLogger, type DriverContext } from '@guts/sdk'

/**
 * Shared by the vSphere lab tests. They run only when GUTS_LAB_VCSIM names the simulator's
 * settings file (`eval "$(test/lab/vcsim-lab.sh env)"`); in CI (CI set) a missing lab registers a
 * failing test instead of a silent skip.
 */
export interface VcsimLab {
  url: string
  host: string
  port: number
  username: string
  password: string
  thumbprint: string
  caFile: string
}

export const labFile = process.env.GUTS_LAB_VCSIM

/** Registers the "no lab" outcome; returns true when the real tests should be registered. */
export function labAvailable(): boolean {
  return labGate({ lab: 'vcsim lab', variable: 'GUTS_LAB_VCSIM', value: labFile, start: 'start the lab (test/lab/vcsim-lab.sh up) and eval "$(test/lab/vcsim-lab.sh env)"' })
}

export function readLab(): VcsimLab {
  return JSON.parse(readFileSync(labFile!, 'utf8')) as VcsimLab
}

export function ctx(signal: AbortSignal = new AbortController().signal): DriverContext {
  return { signal, log: silentLogger, workDir: '/tmp', recordUndo: async () => {} }
}
