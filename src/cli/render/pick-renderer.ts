import { jsonRenderer } from './json-renderer.js'
import { plainRenderer } from './plain-renderer.js'
import type { Renderer } from './renderer.js'

/**
 * `--json` → NDJSON; a TTY → live listr2 view; anything else (CI, pipes) → plain timestamped lines.
 * listr2 is loaded only for a terminal: JSON and plain runs start faster without it.
 */
export async function pickRenderer(options: { json: boolean; plain?: boolean; write: (line: string) => void }): Promise<Renderer> {
  if (options.json) return jsonRenderer(options.write)
  if (process.stdout.isTTY && !process.env.CI && !options.plain) return (await import('./listr-renderer.js')).listrRenderer(options.write)
  return plainRenderer(options.write)
}
