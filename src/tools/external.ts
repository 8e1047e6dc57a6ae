import type { Options as ExecaOptions, Result, ResultPromise } from 'execa'
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

// execa costs ~80 ms to import: load it on the first tool run, not at every start-up.
let execaModule: Promise<typeof import('execa')> | undefined
const loadExeca = () => (execaModule ??= import('execa'))

type ToolOptions = ExecaOptions & { signal?: AbortSignal }

/**
 * Starts an external tool and hands back the running subprocess (wrapped, so awaiting this does not
 * wait for the tool to exit). Arguments never carry secrets: they are visible in `ps`.
 */
export async function startTool(tool: string, args: readonly string[], options: ToolOptions = {}): Promise<{ subprocess: ResultPromise }> {
  const { execa } = await loadExeca()
  const { signal, ...rest } = options
  return { subprocess: execa(tool, args, { reject: true, stripFinalNewline: true, ...(signal ? { cancelSignal: signal } : {}), ...rest }) as ResultPromise }
}

/** Runs an external tool to completion. Map failures with `mapToolError`. */
export async function runTool(tool: string, args: readonly string[], options: ToolOptions = {}): Promise<Result> {
  const { subprocess } = await startTool(tool, args, options)
  return (await subprocess) as Result
}

export function mapToolError(tool: string, args: readonly string[], error: unknown, signal?: AbortSignal): GutsError {
  const e = error as { code?: string; exitCode?: number; stderr?: unknown; isCanceled?: boolean; shortMessage?: string }
  if (signal?.aborted || e.isCanceled) {
    return new GutsError('GUTS_ABORTED', `Aborted while running ${tool}.`, { cause: signal?.reason })
  }
  if (e.code === 'ENOENT') return toolMissingError(tool, error)
  const stderr = typeof e.stderr === 'string' ? tail(e.stderr) : ''
  return new GutsError('GUTS_EXTERNAL_COMMAND_FAILED', `${tool} ${args[0] ?? ''} failed (exit ${e.exitCode ?? '?'})${stderr ? `: ${stderr}` : '.'}`, {
    details: { command: tool, args: [...args], exitCode: e.exitCode ?? null, stderr },
    cause: error,
  })
}
