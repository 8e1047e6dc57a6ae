import { homedir } from 'node:os'
import { join } from 'node:path'

/**
 * Where guts keeps its state (the SQLite database, logs, scratch space).
 * GUTS_DATA_DIR wins so tests and containers can point it anywhere; otherwise the XDG
 * base-directory rules apply, as users of other CLI tools expect.
 */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env.GUTS_DATA_DIR
  if (explicit) return explicit
  const xdg = env.XDG_DATA_HOME
  // XDG says relative values are invalid and must be ignored.
  if (xdg && xdg.startsWith('/')) return join(xdg, 'guts')
  return join(homedir(), '.local', 'share', 'guts')
}
