import { readFileSync } from 'node:fs'
import { GutsError } from '@guts/sdk'
import { Agent } from 'undici'

/**
 * One connection pool per cloud, carrying the CA bundle or the explicit insecure switch. TLS
 * settings live here, per client, and never in NODE_TLS_REJECT_UNAUTHORIZED, which would turn
 * verification off for every connection in the process.
 */
export function createAgent(tls: { caCert?: string; insecure?: boolean }): Agent {
  const ca = readCa(tls.caCert)
  return new Agent({
    connect: { ...(ca ? { ca } : {}), ...(tls.insecure ? { rejectUnauthorized: false } : {}) },
    // Long uploads go through the same pool; keep idle sockets briefly only.
    keepAliveTimeout: 10_000,
  })
}

/**
 * The same settings in the shape Bun's fetch takes (`tls`): under Bun (tests, the single binary)
 * `undici` is Bun's own shim and ignores the Agent's connect options. Node ignores this key.
 */
export function bunTlsOption(tls: { caCert?: string; insecure?: boolean }): { tls?: { ca?: string; rejectUnauthorized?: boolean } } {
  const ca = readCa(tls.caCert)
  return ca || tls.insecure ? { tls: { ...(ca ? { ca } : {}), ...(tls.insecure ? { rejectUnauthorized: false } : {}) } } : {}
}

/** Closes the pool; Bun's undici shim has no close. */
export async function closeAgent(agent: Agent): Promise<void> {
  const close = (agent as { close?: () => Promise<void> }).close
  if (typeof close === 'function') await close.call(agent)
}

function readCa(path: string | undefined): string | undefined {
  if (!path) return undefined
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    throw new GutsError('GUTS_CONFIG_INVALID', `Cannot read the CA bundle ${path}: ${(error as Error).message}`, { cause: error })
  }
}
