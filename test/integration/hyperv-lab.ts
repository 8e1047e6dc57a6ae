import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { DriverContext } from '@guts/sdk'
import { createTestContext } from '@guts/sdk/testing'
import type { HypervOptions } from '@guts/driver-hyperv'
import { labGate } from '../helpers/lab-gate.js'
import { ROOT } from '../helpers/cli.js'

/**
 * Shared by the Hyper-V lab tests. They run only when GUTS_LAB_HYPERV names the lab's settings
 * file (`eval "$(test/lab/hyperv-lab.sh env)"`); in CI a missing lab registers a failing test.
 */
export interface HypervLab {
  host: string
  port: number
  user: string
  key: string
  passwordFile: string
  hostKeySha256: string
  knownHosts: string
  cRoot: string
}

export const labFile = process.env.GUTS_LAB_HYPERV

export function labAvailable(): boolean {
  return labGate({
    lab: 'Hyper-V lab',
    variable: 'GUTS_LAB_HYPERV',
    value: labFile,
    start: 'start the lab (test/lab/hyperv-lab.sh up) and eval "$(test/lab/hyperv-lab.sh env)"',
  })
}

export function readLab(): HypervLab {
  const j = JSON.parse(readFileSync(labFile!, 'utf8')) as Record<string, unknown>
  return {
    host: String(j.host),
    port: Number(j.port),
    user: String(j.username),
    key: String(j.privateKeyPath),
    passwordFile: String(j.passwordFile),
    hostKeySha256: String(j.hostKeyFingerprint),
    knownHosts: String(j.knownHostsFile),
    cRoot: String(j.cRoot),
  }
}

/** Driver options for the lab host: key login and the pinned host key, unless overridden. */
export function labOptions(lab: HypervLab, over: Partial<HypervOptions> = {}): HypervOptions {
  return { host: lab.host, port: lab.port, username: lab.user, privateKey: lab.key, hostKey: lab.hostKeySha256, ...over }
}

export function labPassword(lab: HypervLab): string {
  return readFileSync(lab.passwordFile, 'utf8').trim()
}

/** Runs a lab command (`guest-write`, `vm-state`, `disk-raw`, `fault`, `ps` …); returns its stdout. */
export function labCmd(...args: string[]): string {
  return execFileSync('bash', [join(ROOT, 'test/lab/hyperv-lab.sh'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

/** The Linux path of a file in the lab's C: tree. */
export function labFilePath(lab: HypervLab, windowsPath: string): string {
  return join(lab.cRoot, windowsPath.slice(3).replace(/\\/g, '/'))
}

export function ctx(signal: AbortSignal = new AbortController().signal): DriverContext {
  return createTestContext({ signal, workDir: tmpdir() })
}

/**
 * A guts.config.yaml in `dir` with the source profile `hv-lab` for the lab host, as a user writes
 * one: the password by ${env:GUTS_TEST_HV_PASSWORD} (see `labPassword`), the host key pinned.
 */
export function writeLabProfile(dir: string, lab: HypervLab): void {
  writeFileSync(
    join(dir, 'guts.config.yaml'),
    [
      'profiles:',
      '  sources:',
      '    hv-lab:',
      '      driver: hyperv',
      `      host: ${lab.host}`,
      `      port: ${lab.port}`,
      `      username: ${lab.user}`,
      '      password: ${env:GUTS_TEST_HV_PASSWORD}',
      `      hostKey: ${JSON.stringify(lab.hostKeySha256)}`,
      '',
    ].join('\n'),
  )
}
