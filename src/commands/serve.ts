import { readFileSync } from 'node:fs'
import { Flags } from '@oclif/core'
import { GutsError } from '@guts/sdk'
import { BaseCommand } from '../cli/base-command.js'

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost'])

export default class Serve extends BaseCommand<typeof Serve> {
  static override summary = 'Serve the migration API (REST, OpenAPI, live events) and run migrations'
  static override description =
    'Listens on 127.0.0.1:7000 by default. Every /v1 route needs an API token (guts token create) unless --no-auth, which is allowed on a loopback address only. Migrations created through the API run in this process; on SIGTERM it stops taking work, checkpoints what runs, and resumes those migrations on its next start. The API is described at /openapi.json.'
  static override examples = ['<%= config.bin %> serve', '<%= config.bin %> serve --host 0.0.0.0 --tls-cert cert.pem --tls-key key.pem']
  static override flags = {
    host: Flags.string({ description: 'Address to listen on', default: '127.0.0.1' }),
    port: Flags.integer({ description: 'Port to listen on', default: 7000, min: 0, max: 65535 }),
    'tls-cert': Flags.string({ description: 'TLS certificate (PEM) file: serve HTTPS', dependsOn: ['tls-key'] }),
    'tls-key': Flags.string({ description: 'TLS private key (PEM) file', dependsOn: ['tls-cert'] }),
    'no-auth': Flags.boolean({ description: 'No tokens: every caller is an admin (loopback addresses only)' }),
    'max-migrations': Flags.integer({
      description: 'Migrations run at once by this server (each within its plan limits)',
      default: 8,
      min: 1,
    }),
  }

  async run(): Promise<{ url: string; stoppedBy: string }> {
    const f = this.flags
    if (f['no-auth'] && !LOOPBACK.has(f.host)) {
      throw new GutsError(
        'GUTS_USAGE',
        `--no-auth is allowed on a loopback address only, not ${f.host}: anyone who reaches it could run migrations.`,
        {
          suggestions: ['Make a token with `guts token create --role admin` and serve with auth, or bind to 127.0.0.1.'],
        },
      )
    }
    const https = f['tls-cert'] ? { cert: readFileSync(f['tls-cert']), key: readFileSync(f['tls-key']!) } : undefined
    const service = await this.service()
    const { startServer } = await import('../server/start.js')
    const server = await startServer({
      service,
      version: this.config.version,
      host: f.host,
      port: f.port,
      noAuth: f['no-auth'],
      maxMigrations: f['max-migrations'],
      ...(https ? { https } : {}),
      log: (line) => this.logToStderr(line),
    })
    // Also under --json (a JSON line then): callers wait for this line to know where to connect.
    if (this.jsonEnabled()) this.writeLine(JSON.stringify({ type: 'listening', url: server.url }))
    else this.log(`guts serve: listening on ${server.url} (API at ${server.url}/openapi.json)`)
    return { url: server.url, stoppedBy: await server.stopped }
  }
}
