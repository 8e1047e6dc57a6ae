import { type Logger, silentLogger } from '@guts/sdk'
import { HttpPool } from '@guts/http'
import type { VimConfig } from './config.js'
import { faultError, isSessionFault } from './faults.js'
import { SoapFaultError, SoapTransport } from './soap.js'
import { isObject, moref, mustMoref, str, type Moref, type XmlArg, type XmlValue } from './xml.js'

/** The managed objects every call starts from (`ServiceContent`). */
export interface ServiceContent {
  rootFolder: Moref
  propertyCollector: Moref
  viewManager: Moref
  sessionManager: Moref
  about: { fullName: string; apiVersion: string; apiType: string; instanceUuid?: string }
}

const SERVICE_INSTANCE = moref('ServiceInstance', 'ServiceInstance')
/** vCenter drops idle sessions after 30 min by default; a cheap call every 10 min keeps ours. */
const KEEP_ALIVE_MS = 10 * 60_000

/**
 * A logged-in vim25 session: RetrieveServiceContent + Login once, the cookie kept by the
 * transport, a keep-alive while in use, and one transparent re-login when the server answers
 * NotAuthenticated (expired or dropped session). Every other fault becomes a GutsError.
 */
export class VimSession {
  readonly transport: SoapTransport
  private readonly pool: HttpPool
  private content: ServiceContent | undefined
  private login: Promise<void> | undefined
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly config: VimConfig,
    private readonly log: Logger = silentLogger,
  ) {
    this.pool = new HttpPool(config.tls, { what: 'vSphere', keepAliveTimeout: 30_000, connections: 8 })
    this.transport = new SoapTransport(config.endpoint, this.pool)
  }

  get serviceContent(): ServiceContent {
    if (!this.content) throw new Error('VimSession: connect() first')
    return this.content
  }

  /** Idempotent; concurrent callers share one login. */
  connect(signal?: AbortSignal): Promise<void> {
    this.login ??= this.doLogin(signal).catch((error) => {
      this.login = undefined
      throw error
    })
    return this.login
  }

  private async doLogin(signal?: AbortSignal): Promise<void> {
    this.content ??= readServiceContent(await this.raw('RetrieveServiceContent', { _this: SERVICE_INSTANCE }, signal))
    this.transport.version = this.content.about.apiVersion || this.transport.version
    await this.raw('Login', { _this: this.content.sessionManager, userName: this.config.username, password: this.config.password }, signal)
    this.log.debug('vSphere login', { server: this.config.endpoint.host, api: this.content.about.apiVersion, user: this.config.username })
    this.startKeepAlive()
  }

  /** A call in the session; NotAuthenticated → log in again, then retry once. */
  async call(method: string, args: Record<string, XmlArg>, signal?: AbortSignal): Promise<XmlValue | undefined> {
    await this.connect(signal)
    try {
      return await this.raw(method, args, signal)
    } catch (error) {
      if (!(error instanceof SoapFaultError) || !isSessionFault(error.fault)) throw mapped(error)
      this.log.info('vSphere session expired, logging in again', { method })
      this.login = undefined
      this.transport.cookie = undefined
      await this.connect(signal)
      try {
        return await this.raw(method, args, signal)
      } catch (again) {
        throw mapped(again)
      }
    }
  }

  private async raw(method: string, args: Record<string, XmlArg>, signal?: AbortSignal): Promise<XmlValue | undefined> {
    try {
      return await this.transport.call(method, args, signal)
    } catch (error) {
      // Login faults are final (a retry with the same password cannot help); others go up raw.
      if (error instanceof SoapFaultError && method !== 'Login' && method !== 'RetrieveServiceContent') throw error
      throw mapped(error)
    }
  }

  private startKeepAlive(): void {
    if (this.timer) return
    this.timer = setInterval(() => {
      this.call('CurrentTime', { _this: SERVICE_INSTANCE }).catch((error: unknown) => {
        this.log.warn('vSphere keep-alive failed', { error: (error as Error).message })
      })
    }, KEEP_ALIVE_MS)
    // Never keeps the process alive by itself.
    this.timer.unref()
  }

  /** Logout (best effort) and close the connection pool. Idempotent. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    if (this.content && this.transport.cookie) {
      await this.transport.call('Logout', { _this: this.content.sessionManager }).catch(() => undefined)
    }
    this.transport.cookie = undefined
    this.login = undefined
    await this.transport.closeOthers()
    await this.pool.close()
  }
}

function mapped(error: unknown): unknown {
  return error instanceof SoapFaultError ? faultError(error.method, error.fault) : error
}

export function readServiceContent(v: XmlValue | undefined): ServiceContent {
  if (!isObject(v)) throw new Error('vim25: RetrieveServiceContent returned nothing')
  const instanceUuid = str(v, 'about', 'instanceUuid')
  return {
    rootFolder: mustMoref(v.rootFolder, 'rootFolder'),
    propertyCollector: mustMoref(v.propertyCollector, 'propertyCollector'),
    viewManager: mustMoref(v.viewManager, 'viewManager'),
    sessionManager: mustMoref(v.sessionManager, 'sessionManager'),
    about: {
      fullName: str(v, 'about', 'fullName') ?? '',
      apiVersion: str(v, 'about', 'apiVersion') ?? '',
      apiType: str(v, 'about', 'apiType') ?? '',
      ...(instanceUuid ? { instanceUuid } : {}),
    },
  }
}
