import { isGutsError } from '@guts/sdk'
import type { RunOptions } from '../core/service.js'
import { exitCodeFor, type MigrationReport } from '../core/report.js'
import { pickRenderer } from './render/pick-renderer.js'

/** What a running command gives the renderer: where lines go and how the user wants them. */
export interface RunContext {
  json: boolean
  output?: 'auto' | 'plain' | 'json' | undefined
  /** stdout, one line (JSON lines under --json). */
  writeLine: (line: string) => void
  warn: (line: string) => void
  exitCode: (code: number) => void
}

/** The last JSON line of `migrate`, `resume` and `retry --json` (see schemas/migrate.json). */
export type RunOutput = { type: 'report'; report: MigrationReport }

/**
 * Runs a migration in this process with live output. The first Ctrl-C or SIGTERM aborts through the
 * one AbortSignal (VMs roll back unless --keep-on-failure); a second Ctrl-C exits at once. Sets the
 * exit code from the outcome and returns the report for `--json`.
 */
export async function runAndRender(
  ctx: RunContext,
  start: (run: Pick<RunOptions, 'signal' | 'onEvent'>) => Promise<MigrationReport>,
): Promise<RunOutput | undefined> {
  const renderer = await pickRenderer({ json: ctx.json || ctx.output === 'json', plain: ctx.output === 'plain', write: ctx.writeLine })
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
    const report = await start({ signal: controller.signal, onEvent: (e) => renderer.onEvent(e) })
    await renderer.finish(report)
    ctx.exitCode(exitCodeFor(report.status))
    return { type: 'report', report }
  } catch (error) {
    await renderer.finish(undefined)
    if (isGutsError(error)) throw error
    ctx.warn(`Unexpected error: ${(error as Error).message}`)
    ctx.exitCode(1)
    return undefined
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}
