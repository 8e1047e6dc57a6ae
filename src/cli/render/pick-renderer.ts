import { jsonRenderer } from './json-renderer.js'
import { listrRenderer } from './listr-renderer.js'
import { plainRenderer } from './plain-renderer.js'
import type { Renderer } from './renderer.js'

/** `--json` → NDJSON; a TTY → live listr2 view; anything else (CI, pipes) → plain timestamped lines. */
export function pickRenderer(options: { json: boolean; plain?: boolean; write: (line: string) => void }): Renderer {
  if (options.json) return jsonRenderer(options.write)
  if (process.stdout.isTTY && !process.env.CI && !options.plain) return listrRenderer(options.write)
  return plainRenderer(options.write)
}
