import type { MigrationService } from '../core/service.js'
import { buildApi } from './app.js'
import type { AuthMode } from './auth.js'
import { MigrationRunner } from './runner.js'

export interface StartOptions {
  service: MigrationService
  version: string
  host: string
  port: number
  noAuth: boolean
  maxMigrations: number
  https?: { cert: Buffer; key: Buffer }
  log: (line: string) => void
}

/**
 * `guts serve`'s process: the API listening, the runner resuming what a previous server left, and
 * a clean stop on SIGTERM/SIGINT (no new requests, running migrations aborted at a checkpoint,
 * their leases released so the next start resumes them).
 */
export async function startServer(o: StartOptions): Promise<{ url: string; stopped: Promise<string> }> {
  const runner = new MigrationRunner(o.service, { info: o.log, warn: o.log }, o.maxMigrations)
  const auth: AuthMode = o.noAuth ? { mode: 'none' } : { mode: 'tokens', verify: (secret) => o.service.verifyToken(secret) }
  const app = await buildApi({
    service: o.service,
    runner,
    auth,
    version: o.version,
    logger: { level: process.env.GUTS_DEBUG ? 'debug' : 'info' },
    ...(o.https ? { https: o.https } : {}),
  })
  const address = await app.listen({ host: o.host, port: o.port })
  await runner.resumeInterrupted()
  let stopping: Promise<void> | undefined
  const stop = (signal: string) =>
    (stopping ??= (async () => {
      o.log(`guts serve: ${signal}: stopping (running migrations checkpoint and resume on the next start)`)
      await app.close()
      await runner.stop()
    })())
  const stopped = new Promise<string>((resolve) => {
    for (const s of ['SIGTERM', 'SIGINT'] as const) process.once(s, () => void stop(s).then(() => resolve(s)))
  })
  return { url: address.replace('[::1]', 'localhost'), stopped }
}
