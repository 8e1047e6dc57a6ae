import { readFileSync } from 'node:fs'
import { GutsError } from '@guts/sdk'
import { Agent } from 'undici'

/**
 * One connection pool per cloud, carrying the CA bundle or the explicit insecure switch. TLS
 * settings live here, per client, and never in NODE_TLS_REJECT_UNAUTHORIZED, which would turn
 * verification off for every connection in the process.
 */
export function createAgent(tls: { caCert?: string; insecure?: boolean }): Agent {
  let ca: string | undefined
  if (tls.caCert) {
    try {
      ca = readFileSync(tls.caCert, 'utf8')
    } catch (error) {
      throw new GutsError('GUTS_CONFIG_INVALID', `Cannot read the CA bundle ${tls.caCert}: ${(error as Error).message}`, { cause: error })
    }
  }
  return new Agent({
    connect: { ...(ca ? { ca } : {}), ...(tls.insecure ? { rejectUnauthorized: false } : {}) },
    // Long uploads go through the same pool; keep idle sockets briefly only.
    keepAliveTimeout: 10_000,
  })
}
