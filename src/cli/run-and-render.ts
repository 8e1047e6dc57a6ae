import { isGutsError } from '@guts/sdk'
import type { MigrationService, RunOptions } from '../core/service.js'
import { exitCodeFor, type MigrationReport } from '../core/report.js'
import { pickRenderer } from './render/pick-renderer.js'

/**
 * Runs a migration in this process with live output. The first Ctrl-C or SIGTERM aborts through the
 * one AbortSignal (VMs roll back unless --keep-on-failure); a second Ctrl-C exits at once.
 */
export async function runAndRender(
  service: MigrationService,
  id: string,
  options: { json: boolean; output?: 'auto' | 'plain' | 'json' | undefined; log: (line: string) => void } & Pick<RunOptions, 'keepOnFailure' | 'only'>,
): Promise<{ report?: MigrationReport; exitCode: number; error?: unknown }> {
  const renderer = pickRenderer({ json: options.json || options.output === 'json', plain: options.output === 'plain', write: options.log })
  const controller = new AbortController()
  let interrupts = 0
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts++
    if (interrupts > 1) process.exit(130)
    process.stderr.write(`\nReceived ${signal}: stopping and rolling back (press Ctrl-C again to exit now)\n`)
    controller.abort(new Error(`interrupted by ${signal}`))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    const report = await service.runMigration(id, {
      signal: controller.signal, onEvent: (e) => renderer.onEvent(e),
      ...(options.keepOnFailure !== undefined ? { keepOnFailure: options.keepOnFailure } : {}),
      ...(options.only ? { only: options.only } : {}),
    })
    await renderer.finish(report)
    return { report, exitCode: exitCodeFor(report.status) }
  } catch (error) {
    await renderer.finish(undefined)
    if (isGutsError(error)) throw error
    return { exitCode: 1, error }
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}
