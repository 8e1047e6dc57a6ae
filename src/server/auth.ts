import { GutsError } from '@guts/sdk'
import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import type { Role } from './context.js'

/** Who made a request, as the token said. */
export interface Caller {
  id: string
  name: string
  role: Role
}

export type AuthMode =
  /** `guts serve --no-auth`: allowed only on a loopback address; every caller is an admin. */
  | { mode: 'none' }
  /** API tokens (`Authorization: Bearer guts_…`), checked by the service. */
  | { mode: 'tokens'; verify(secret: string): Promise<Caller | undefined> }

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 }

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller
  }
}

/**
 * The role check routes declare (`preHandler: require('operator')`): no or an unknown token is 401,
 * a known one below the role is 403 (a forbidden error carries `details.forbidden`).
 */
export function roleCheck(auth: AuthMode): (role: Role) => preHandlerAsyncHookHandler {
  return (role) => async (req: FastifyRequest) => {
    if (auth.mode === 'none') {
      req.caller = { id: 'local', name: 'local (--no-auth)', role: 'admin' }
      return
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')
    const caller = m ? await auth.verify(m[1]!) : undefined
    if (!caller) {
      throw new GutsError('GUTS_AUTH_FAILED', m ? 'The token is unknown or revoked.' : 'This API needs a token.', {
        suggestions: ['Send `Authorization: Bearer <token>`; an admin makes one with `guts token create --role viewer|operator|admin`.'],
      })
    }
    // A role this server does not know grants nothing (RANK[unknown] < n would be false).
    if (!(caller.role in RANK) || RANK[caller.role] < RANK[role]) {
      throw new GutsError('GUTS_AUTH_FAILED', `This needs the ${role} role; the token "${caller.name}" has ${caller.role}.`, {
        details: { forbidden: true, needs: role, has: caller.role },
      })
    }
    req.caller = caller
  }
}
