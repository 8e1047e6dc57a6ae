import { spawn, type ChildProcess } from 'node:child_process'
import { GutsError } from '@guts/sdk'

/** How to get each external tool guts uses, shown when it is missing (`guts doctor` too). */
export const TOOL_INSTALL_HINTS: Record<string, string> = {
  'qemu-img': 'Install it with: sudo apt-get install qemu-utils (Debian/Ubuntu) or sudo dnf install qemu-img (Fedora/RHEL)',
}

const STDERR_TAIL_LINES = 8

/** The last lines of a command's stderr, for error messages that show what the tool said. */
export function tail(text: string | undefined, lines = STDERR_TAIL_LINES): string {
  if (!text) return ''
  return text.trimEnd().split('\n').slice(-lines).join('\n')
}

export function toolMissingError(tool: string, cause?: unknown): GutsError {
  return new GutsError('GUTS_TOOL_MISSING', `${tool} is not installed or not on PATH.`, {
    suggestions: [TOOL_INSTALL_HINTS[tool] ?? `Install ${tool} and make sure it is on PATH.`, 'Run `guts doctor` to check every tool.'],
    cause,
  })
}

/** How a tool run ended; stdout is empty when the caller reads it as a stream. */
export interface ToolResult {
  exitCode: number
  stdout: string
  stderr: string
}

/** A tool run that ended badly: the shape `mapToolError` reads. */
export class ToolRunError extends Error {
  constructor(
    message: string,
    readonly result: Partial<ToolResult> & { code?: string; isCanceled?: boolean },
  ) {
    super(message)
  }
}

export interface ToolOptions {
  signal?: AbortSignal | undefined
  /** Resolve with a non-zero exit code instead of rejecting (the caller reads `exitCode`). */
  reject?: boolean
  /** The caller reads stdout from `child.stdout` itself (progress); it is not collected. */
  streamStdout?: boolean
}

/**
 * Starts an external tool: `child` for callers that read its output as it comes, `done` for its end.
 * Arguments never carry secrets: they are visible in `ps`.
 *
 * node:child_process rather than execa: execa costs ~50–80 ms to import (measured in `guts migrate`
 * profiles), paid by every migration, for what spawn with an AbortSignal already does here.
 */
export function startTool(
  tool: string,
  args: readonly string[],
  options: ToolOptions = {},
): { child: ChildProcess; done: Promise<ToolResult> } {
  const child = spawn(tool, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(options.signal ? { signal: options.signal } : {}) })
  let stdout = ''
  let stderr = ''
  if (!options.streamStdout) child.stdout?.setEncoding('utf8').on('data', (c: string) => (stdout += c))
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (stderr += c))
  const done = new Promise<ToolResult>((resolve, reject) => {
    let failed: (Error & { code?: string }) | undefined
    const fail = (result: Partial<ToolResult>) => {
      const canceled = failed!.name === 'AbortError' || options.signal?.aborted
      reject(
        new ToolRunError(`${tool}: ${failed!.message}`, {
          ...result,
          ...(failed!.code ? { code: failed!.code } : {}),
          isCanceled: Boolean(canceled),
        }),
      )
    }
    child.on('error', (error: Error & { code?: string }) => {
      failed = error
      // Never started (ENOENT, EACCES): there will be no 'close' to wait for.
      if (child.pid === undefined) fail({ stderr })
    })
    child.on('close', (code, signal) => {
      if (failed && child.pid === undefined) return
      const result = { exitCode: code ?? -1, stdout: stdout.replace(/\n$/, ''), stderr: stderr.replace(/\n$/, '') }
      if (failed) return fail(result)
      if (code === 0 || options.reject === false) return resolve(result)
      reject(new ToolRunError(`${tool} exited with ${code ?? signal}`, result))
    })
  })
  return { child, done }
}

/** Runs an external tool to completion. Map failures with `mapToolError`. */
export async function runTool(tool: string, args: readonly string[], options: ToolOptions = {}): Promise<ToolResult> {
  return startTool(tool, args, options).done
}

export function mapToolError(tool: string, args: readonly string[], error: unknown, signal?: AbortSignal): GutsError {
  const e = (error instanceof ToolRunError ? error.result : error) as {
    code?: string
    exitCode?: number
    stderr?: unknown
    isCanceled?: boolean
  }
  if (signal?.aborted || e.isCanceled) {
    return new GutsError('GUTS_ABORTED', `Aborted while running ${tool}.`, { cause: signal?.reason })
  }
  if (e.code === 'ENOENT') return toolMissingError(tool, error)
  const stderr = typeof e.stderr === 'string' ? tail(e.stderr) : ''
  return new GutsError(
    'GUTS_EXTERNAL_COMMAND_FAILED',
    `${tool} ${args[0] ?? ''} failed (exit ${e.exitCode ?? '?'})${stderr ? `: ${stderr}` : '.'}`,
    {
      details: { command: tool, args: [...args], exitCode: e.exitCode ?? null, stderr },
      cause: error,
    },
  )
}
