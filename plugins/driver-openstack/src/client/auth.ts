import { GutsError } from '@guts/sdk'
import type { HttpPool } from '@guts/http'
import { identityRoot, type CatalogEntry } from './catalog.js'
import type { CloudConfig } from './cloud-config.js'
import { apiError, networkError } from './errors.js'

/** A scoped Keystone token with the catalog that came with it. */
export interface AuthSession {
  token: string
  expiresAt: number
  catalog: CatalogEntry[]
  projectId?: string
  userId?: string
  /** Role names on the project: preflight predicts policy refusals (MAC addresses) from them. */
  roles: string[]
}

/** Refresh this long before Keystone's expiry, so a token never dies between check and use. */
const EXPIRY_MARGIN_MS = 120_000

/** Keystone v3 body for password or application-credential auth, with project scope. */
export function authBody(config: CloudConfig): object {
  const a = config.auth
  if (a.type === 'applicationCredential') {
    const credential = a.id
      ? { id: a.id, secret: a.secret }
      : { name: a.name, secret: a.secret, user: { name: a.username, domain: { name: a.userDomainName ?? 'Default' } } }
    // Application credentials are bound to their project: a scope would be rejected.
    return { auth: { identity: { methods: ['application_credential'], application_credential: credential } } }
  }
  const user = {
    ...(a.userId
      ? { id: a.userId }
      : { name: a.username, domain: a.userDomainId ? { id: a.userDomainId } : { name: a.userDomainName ?? 'Default' } }),
    password: a.password,
  }
  const p = config.project
  const scope = p
    ? { project: p.id ? { id: p.id } : { name: p.name, domain: p.domainId ? { id: p.domainId } : { name: p.domainName ?? 'Default' } } }
    : undefined
  return { auth: { identity: { methods: ['password'], password: { user } }, ...(scope ? { scope } : {}) } }
}

/** Caches one token per cloud; concurrent callers share one login. */
export class KeystoneAuth {
  private current?: AuthSession
  private pending?: Promise<AuthSession>

  constructor(
    private readonly config: CloudConfig,
    private readonly pool: HttpPool,
  ) {}

  /** Values that must never appear in an error or a log line. */
  secrets(): string[] {
    const a = this.config.auth
    return [a.type === 'password' ? a.password : a.secret, this.current?.token].filter((s): s is string => Boolean(s))
  }

  async session(signal?: AbortSignal): Promise<AuthSession> {
    if (this.current && this.current.expiresAt - EXPIRY_MARGIN_MS > Date.now()) return this.current
    this.pending ??= this.login(signal).finally(() => {
      this.pending = undefined
    })
    return this.pending
  }

  /** Drops a token the services rejected (401), so the next call logs in again. */
  invalidate(token: string): void {
    if (this.current?.token === token) this.current = undefined
  }

  private async login(signal?: AbortSignal): Promise<AuthSession> {
    const url = `${identityRoot(this.config.authUrl)}/auth/tokens`
    let response: Response
    try {
      response = await this.pool.fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(authBody(this.config)),
        ...(signal ? { signal } : {}),
      })
    } catch (error) {
      if (signal?.aborted) throw new GutsError('GUTS_ABORTED', 'Aborted while logging in to Keystone.', { cause: error })
      throw networkError('identity', url, error, this.secrets())
    }
    const text = await response.text()
    if (!response.ok) {
      const e = apiError(
        {
          service: 'identity',
          method: 'POST',
          url,
          status: response.status,
          body: text,
          requestId: response.headers.get('x-openstack-request-id') ?? undefined,
        },
        this.secrets(),
      )
      if (response.status === 401) {
        const said = e.message.replace(/^.*?failed with HTTP 401:? ?/, '').replace(/\.?( \(request [^)]*\))?$/, '$1')
        throw new GutsError(
          'GUTS_AUTH_FAILED',
          `Keystone at ${new URL(url).origin} rejected the credentials from ${this.config.source}: ${said || 'the user, password or project is wrong'}.`,
          {
            suggestions: ['Check username, password, user/project domain and project name (or the application credential).'],
          },
        )
      }
      throw e
    }
    const token = response.headers.get('x-subject-token')
    let body: {
      token?: {
        expires_at?: string
        catalog?: CatalogEntry[]
        project?: { id?: string }
        user?: { id?: string }
        roles?: { name?: string }[]
      }
    }
    try {
      body = JSON.parse(text) as typeof body
    } catch (error) {
      throw new GutsError('GUTS_DRIVER_ERROR', `Keystone at ${new URL(url).origin} answered with something that is not JSON.`, {
        cause: error,
      })
    }
    if (!token || !body.token) throw new GutsError('GUTS_DRIVER_ERROR', `Keystone at ${new URL(url).origin} returned no token.`)
    if (!body.token.catalog?.length) {
      throw new GutsError(
        'GUTS_AUTH_FAILED',
        `Keystone issued an unscoped token for ${this.config.source}: no project is set, so there is no service catalog.`,
        {
          suggestions: ['Set project_name (OS_PROJECT_NAME / projectName) and its domain.'],
        },
      )
    }
    this.current = {
      token,
      expiresAt: body.token.expires_at ? Date.parse(body.token.expires_at) : Date.now() + 3_600_000,
      catalog: body.token.catalog,
      roles: (body.token.roles ?? []).flatMap((r) => (r.name ? [r.name] : [])),
      ...(body.token.project?.id ? { projectId: body.token.project.id } : {}),
      ...(body.token.user?.id ? { userId: body.token.user.id } : {}),
    }
    return this.current
  }
}
