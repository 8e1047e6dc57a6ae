import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { GutsError } from '@guts/sdk'
import type { HypervOptions } from './options.js'
import type { SshSettings } from './transport/ssh-connection.js'

export interface HypervConfig {
  ssh: SshSettings
  readConcurrency: number
}

/** Options → connection settings; reads the private key file. Bad settings → GUTS_CONFIG_INVALID. */
export function resolveConfig(options: HypervOptions): HypervConfig {
  if (!options.host || !options.username) {
    throw new GutsError('GUTS_CONFIG_INVALID', 'A Hyper-V source needs the options host and username.')
  }
  if (options.password === undefined && !options.privateKey) {
    throw new GutsError(
      'GUTS_CONFIG_INVALID',
      `No credentials for the Hyper-V host ${options.host}: set the source option password or privateKey.`,
    )
  }
  let privateKey: Buffer | undefined
  if (options.privateKey) {
    try {
      privateKey = readFileSync(options.privateKey)
    } catch (e) {
      throw new GutsError('GUTS_CONFIG_INVALID', `Cannot read the private key file ${options.privateKey}: ${(e as Error).message}`, {
        cause: e,
      })
    }
  }
  return {
    ssh: {
      host: options.host,
      port: options.port ?? 22,
      username: options.username,
      ...(options.password !== undefined ? { password: options.password } : {}),
      ...(privateKey ? { privateKey } : {}),
      ...(options.passphrase !== undefined ? { passphrase: options.passphrase } : {}),
      hostKeys: {
        ...(options.hostKey ? { pinned: options.hostKey } : {}),
        knownHostsFiles: options.knownHosts ?? [join(homedir(), '.ssh', 'known_hosts')],
      },
      keepaliveIntervalMs: (options.keepaliveSeconds ?? 15) * 1000,
      readyTimeoutMs: 20_000,
    },
    readConcurrency: options.readConcurrency ?? 32,
  }
}
