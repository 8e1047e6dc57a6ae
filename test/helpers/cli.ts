import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join, resolve } from 'node:path'
import { afterAll } from 'vitest'

export const ROOT = resolve(import.meta.dirname, '../..')
export const BIN = join(ROOT, 'bin/run.js')

// Under `bun test`, PATH starts with a directory whose `node` is bun itself: the CLI must run on
// real Node, as users run it, so that directory is dropped.
const REAL_PATH = (process.env.PATH ?? '')
  .split(delimiter)
  .filter((d) => !/bun-node/.test(d))
  .join(delimiter)
const NODE = typeof (globalThis as { Bun?: unknown }).Bun === 'undefined' ? process.execPath : 'node'

const made: string[] = []

/**
 * A fresh temporary directory, removed after the test file (some hold GiB-sized disk images, and
 * CI machines are reused). GUTS_KEEP_TEST_DIRS=1 keeps them for a post-mortem.
 */
export function tempDir(prefix = 'guts-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  made.push(dir)
  return dir
}

// Registered once per test file that imports this module (vitest and bun evaluate it per file).
afterAll(() => {
  if (process.env.GUTS_KEEP_TEST_DIRS) return
  for (const dir of made.splice(0)) {
    rmSync(dir, { recursive: true, force: true })
    rmSync(`${dir}-home`, { recursive: true, force: true })
  }
})

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** Runs the real CLI (compiled dist/) as a user would, with its own data dir and no TTY. */
export function runCli(
  args: string[],
  options: { dataDir: string; cwd?: string; env?: Record<string, string>; onStdout?: (chunk: string, child: ChildProcess) => void },
): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const home = `${options.dataDir}-home`
    const child = spawn(NODE, [BIN, ...args], {
      cwd: options.cwd ?? ROOT,
      env: {
        ...process.env,
        PATH: REAL_PATH,
        GUTS_DATA_DIR: options.dataDir,
        XDG_DATA_HOME: join(home, 'data'),
        XDG_CONFIG_HOME: join(home, 'config'),
        XDG_CACHE_HOME: join(home, 'cache'),
        OCLIF_DISABLE_LINKED_ESM_WARNING: '1',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c
      options.onStdout?.(c, child)
    })
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c))
    child.on('error', reject)
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr }))
  })
}
