import type { MigrationEvent } from '../../core/pipeline/events.js'
import type { MigrationReport } from '../../core/report.js'
import type { Renderer } from './renderer.js'

/** `--json`: one JSON object per line (NDJSON) for every event; the command prints `{"type":"report",…}` last. */
export function jsonRenderer(write: (line: string) => void): Renderer {
  return {
    onEvent(e: MigrationEvent) {
      write(JSON.stringify({ at: new Date().toISOString(), ...e }))
    },
    async finish(_report?: MigrationReport) {},
  }
}
