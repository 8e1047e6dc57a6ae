import type { TLSSocket, PeerCertificate } from 'node:tls'
import { Agent, buildConnector } from 'undici'
import { pinCheck, pinError, tlsConnectOptions, type TlsSettings } from './tls.js'

export interface AgentOptions {
  /** How long an idle socket is kept (ms); long uploads share the pool, so keep it short. */
  keepAliveTimeout?: number
  /** Sockets per origin; unset means undici's default (no limit). */
  connections?: number
}

/**
 * With a pin, chain verification is off (the reason to pin is a self-signed certificate) and the
 * peer certificate's hash is compared after every handshake instead. Node does not call
 * `checkServerIdentity` when the chain already failed, so the pin is checked on the connected
 * socket; TLS session reuse is off so that every connection shows its certificate.
 */
function pinnedConnector(thumbprint: string): buildConnector.connector {
  const check = pinCheck(thumbprint)
  const base = buildConnector({ rejectUnauthorized: false, maxCachedSessions: 0 })
  return (opts, callback) =>
    base(opts, (err, socket) => {
      if (err || !socket) return callback(err ?? new Error('TLS connect failed'), null)
      const cert = (socket as TLSSocket).getPeerCertificate?.(false)
      const mismatch = check(opts.hostname, cert as PeerCertificate)
      if (mismatch) {
        socket.destroy()
        return callback(pinError(opts.hostname, mismatch), null)
      }
      callback(null, socket)
    })
}

/** One connection pool carrying one server's trust settings (Node; Bun's shim ignores them, see bun-tls.ts). */
export function createAgent(tls: TlsSettings, o: AgentOptions = {}): Agent {
  const connect = tls.thumbprint ? pinnedConnector(tls.thumbprint) : tlsConnectOptions(tls)
  return new Agent({
    connect,
    keepAliveTimeout: o.keepAliveTimeout ?? 10_000,
    ...(o.connections ? { connections: o.connections } : {}),
  })
}

/** Closes the pool; Bun's undici shim has no close. */
export async function closeAgent(agent: Agent): Promise<void> {
  const close = (agent as { close?: () => Promise<void> }).close
  if (typeof close === 'function') await close.call(agent)
}
