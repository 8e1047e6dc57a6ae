import type { Logger } from '@guts/sdk'
import { KeystoneAuth } from './auth.js'
import { Cinder } from './cinder.js'
import type { CloudConfig } from './cloud-config.js'
import { Glance } from './glance.js'
import { OpenStackHttp } from './http.js'
import { Neutron } from './neutron.js'
import { Nova } from './nova.js'
import { bunTlsOption, closeAgent, createAgent } from './tls.js'

/** One authenticated OpenStack cloud: the four services guts uses, sharing a token and a pool. */
export class OpenStackClient {
  readonly http: OpenStackHttp
  readonly glance: Glance
  readonly cinder: Cinder
  readonly nova: Nova
  readonly neutron: Neutron
  private readonly agent

  constructor(readonly config: CloudConfig, log: Logger) {
    const tls = { ...(config.caCert ? { caCert: config.caCert } : {}), insecure: config.insecure }
    this.agent = createAgent(tls)
    const fetchTls = bunTlsOption(tls)
    const auth = new KeystoneAuth(config, this.agent, fetchTls)
    this.http = new OpenStackHttp(auth, this.agent, config.interface, config.region, log, fetchTls)
    this.glance = new Glance(this.http)
    this.cinder = new Cinder(this.http)
    this.nova = new Nova(this.http)
    this.neutron = new Neutron(this.http)
  }

  async close(): Promise<void> {
    await closeAgent(this.agent)
  }
}

export type { CloudConfig, CloudOverrides } from './cloud-config.js'
export { loadCloudConfig } from './cloud-config.js'
