import type { MigrationEvent } from '../../core/pipeline/events.js'
import type { MigrationReport } from '../../core/report.js'
import { bytes, duration, progressBar, RateMeter } from './format.js'
import type { Renderer } from './renderer.js'
import { warmLine } from './warm-lines.js'

/** Progress lines are printed at most this often per disk, so CI logs stay readable. */
const PROGRESS_EVERY_MS = 10_000

/** Timestamped lines for logs and CI (no TTY): every stage, finding, finished disk and outcome. */
export function plainRenderer(write: (line: string) => void): Renderer {
  const lastProgress = new Map<string, number>()
  const meters = new Map<string, RateMeter>()
  const line = (text: string) => write(`${new Date().toISOString()} ${text}`)
  return {
    onEvent(e: MigrationEvent) {
      switch (e.type) {
        case 'migration.started':
          return line(`${e.resumed ? 'resuming' : 'starting'} migration ${e.name} (${e.migrationId})`)
        case 'vm.stage':
          return e.state === 'started' ? line(`${e.vm} ${e.stage}`) : undefined
        case 'vm.finding':
          return line(`${e.vm} ${e.finding.severity}: ${e.finding.message}`)
        case 'disk.progress': {
          const key = `${e.vm}/${e.disk}`
          const meter = meters.get(key) ?? new RateMeter()
          meters.set(key, meter)
          const rate = meter.add(e.bytes)
          const now = Date.now()
          if (now - (lastProgress.get(key) ?? 0) < PROGRESS_EVERY_MS) return
          lastProgress.set(key, now)
          return line(`${e.vm} ${e.disk} ${progressBar(e.bytes, e.total, rate)}`)
        }
        case 'disk.done':
          return line(
            `${e.vm} ${e.disk} done: ${bytes(e.virtualSize)} via ${e.route} in ${duration(e.seconds)}${e.sha256 ? ` sha256=${e.sha256}` : ''}`,
          )
        case 'vm.rollback':
          return line(`${e.vm} rollback ${e.state}${e.message ? `: ${e.message}` : ''}`)
        case 'vm.succeeded':
          return line(`${e.vm} succeeded in ${duration(e.seconds)} (instance ${e.instance.id})`)
        case 'vm.failed':
          return line(`${e.vm} FAILED at ${e.stage ?? '?'}: ${String(e.error.message)}${e.rolledBack ? ' (rolled back)' : ''}`)
        case 'log':
          return line(`${e.vm ?? 'guts'} ${e.level}: ${e.message}`)
        case 'migration.finished':
          return line(`migration ${e.status}: ${e.succeeded} VM(s) succeeded, ${e.failed} failed, ${duration(e.seconds)}`)
        default: {
          const warm = warmLine(e)
          return warm && 'vm' in e && e.vm ? line(`${e.vm} ${warm}`) : undefined
        }
      }
    },
    async finish(report?: MigrationReport) {
      if (report) line(`migration id ${report.id}`)
    },
  }
}
