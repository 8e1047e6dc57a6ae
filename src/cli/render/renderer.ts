import type { MigrationEvent } from '../../core/pipeline/events.js'
import type { MigrationReport } from '../../core/report.js'

/** Turns the event stream of a migration into output. One per output mode (TTY, plain, JSON). */
export interface Renderer {
  onEvent(event: MigrationEvent): void
  /** Called once with the final report; resolves when everything is written. */
  finish(report: MigrationReport | undefined): Promise<void>
}
