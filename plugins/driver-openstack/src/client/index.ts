import type { Logger } from '@guts/sdk'
import { KeystoneAuth } from './auth.js'
import { Cinder } from './cinder.js'
import type { CloudConfig } from './cloud-config.js'
import { Glance } from './glance.js'
import { OpenStackHttp } from './http.js'
import { Neutron } from './neutron.js'
import { Nova } from './nova.js'
import { HttpPool } from '@guts/http'

/** One authenticated OpenStack cloud: the four services guts uses, sharing a token and a pool. */
export class OpenStackClient {
  readonly http: OpenStackHttp
  readonly glance: Glance
  readonly cinder: Cinder
  readonly nova: Nova
  readonly neutron: Neutron
  private readonly pool: HttpPool

  constructor(
    readonly config: CloudConfig,
    log: Logger,
  ) {
    // One pool per cloud, carrying its CA bundle or the explicit insecure switch. Long uploads
    // go through the same pool; idle sockets are kept briefly only.
    this.pool = new HttpPool(
      { ...(config.caCert ? { caCert: config.caCert } : {}), insecure: config.insecure },
      { what: 'OpenStack', keepAliveTimeout: 10_000 },
    )
    const auth = new KeystoneAuth(config, this.pool)
    this.http = new OpenStackHttp(auth, this.pool, config.interface, config.region, log)
    this.glance = new Glance(this.http)
    this.cinder = new Cinder(this.http)
    this.nova = new Nova(this.http)
    this.neutron = new Neutron(this.http)
  }

  async close(): Promise<void> {
    await this.pool.close()
  }
}

export type { CloudConfig, CloudOverrides } from './cloud-config.js'
export { loadCloudConfig } from './cloud-config.js'
