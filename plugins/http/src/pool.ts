import { isBun } from '@guts/sdk'
import type { Agent } from 'undici'
import { closeAgent, createAgent, type AgentOptions } from './agent.js'
import { bunFetchTls, type BunFetchTls } from './bun-tls.js'
import type { TlsSettings } from './tls.js'

export interface PoolOptions extends AgentOptions {
  /** Who is behind it, for messages: "vSphere", "OpenStack". */
  what?: string
}

/**
 * The connections to one server (or one cloud's endpoints) with one set of trust settings, for
 * Node and Bun alike: Node's fetch and undici use the Agent; Bun's fetch gets the `tls` option
 * instead (its undici shim ignores Agents), resolved once per origin because a pin is per host.
 */
export class HttpPool {
  readonly agent: Agent
  private readonly bunTls = new Map<string, Promise<BunFetchTls>>()

  constructor(
    readonly tls: TlsSettings,
    private readonly o: PoolOptions = {},
  ) {
    this.agent = createAgent(tls, o)
  }

  /** Extra fetch options for `url`: `{}` under Node, `{tls}` under Bun. */
  fetchOptions(url: string | URL): Promise<BunFetchTls> {
    if (!isBun()) return Promise.resolve({})
    const target = new URL(url)
    const key = this.tls.thumbprint ? target.origin : ''
    let settings = this.bunTls.get(key)
    if (!settings) {
      // A failed attempt (host down) is not remembered: the next call tries again.
      settings = bunFetchTls(target, this.tls, this.o.what).catch((error: unknown) => {
        this.bunTls.delete(key)
        throw error
      })
      this.bunTls.set(key, settings)
    }
    return settings
  }

  /** fetch through this pool. Errors are the runtime's own: map them with the SDK's networkError. */
  async fetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const extra = await this.fetchOptions(url)
    return fetch(url, { ...init, ...extra, dispatcher: this.agent } as unknown as RequestInit)
  }

  async close(): Promise<void> {
    this.bunTls.clear()
    await closeAgent(this.agent)
  }
}
