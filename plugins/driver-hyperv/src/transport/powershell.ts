import { randomUUID } from 'node:crypto'
import { GutsError, type Json, type Logger } from '@guts/sdk'
import { parseClixml } from './clixml.js'
import { windowsPath } from './paths.js'
import type { SshConnection } from './ssh-connection.js'

/** cmd.exe's limit on one command line, which Windows OpenSSH runs the command through. */
export const MAX_COMMAND_LINE = 8191
const POWERSHELL = 'powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass'
const RESULT = '#guts-result:'

/**
 * A script for the host. `body` is PowerShell that reads its inputs from `$GutsArgs` and returns
 * one value (usually an ordered hashtable, every field cast: Windows PowerShell 5.1 and 7 must give
 * the same JSON). Inputs travel as data — base64 of JSON, decoded on the host — and are never
 * spliced into the script text, so a VM named `x'; Remove-VM *; '` is just a name.
 */
export interface HostScript {
  /** Short name for logs and errors: `inventory`, `checkpoint`. */
  op: string
  body: string
  args?: Record<string, Json>
}

/** What the wrapper reports when the script threw: PowerShell's own error record, projected. */
export interface RemoteErrorRecord {
  message: string
  category: string
  id: string
  type: string
  target?: string
  position?: string
}

/** Builds the full script text: prelude, inputs, the body inside a wrapper that frames the result. */
export function scriptText(script: HostScript): string {
  const input = Buffer.from(JSON.stringify(script.args ?? {}), 'utf8').toString('base64')
  return [
    `#guts-op:${script.op}`,
    "$ProgressPreference = 'SilentlyContinue'; $ErrorActionPreference = 'Stop'",
    '[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false',
    `$GutsArgs = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String('${input}')) | ConvertFrom-Json`,
    'function Write-GutsResult($h) { [Console]::Out.Write("' +
      RESULT +
      '" + (ConvertTo-Json -InputObject $h -Depth 12 -Compress) + "`n") }',
    'try {',
    '  $out = @(& {',
    script.body,
    '  } 3>&1)',
    '  $warn = @($out | Where-Object { $_ -is [Management.Automation.WarningRecord] } | ForEach-Object { [string]$_.Message })',
    '  $data = @($out | Where-Object { $_ -isnot [Management.Automation.WarningRecord] })',
    '  $r = [ordered]@{ ok = $true; warnings = $warn }',
    '  if ($data.Count -eq 1) { $r.value = $data[0] } else { $r.value = $data }',
    '  Write-GutsResult $r',
    '} catch {',
    '  $e = $_',
    '  Write-GutsResult ([ordered]@{ ok = $false; error = [ordered]@{ message = [string]$e.Exception.Message; category = [string]$e.CategoryInfo.Category;',
    '    id = [string]$e.FullyQualifiedErrorId; type = [string]$e.Exception.GetType().FullName; target = [string]$e.TargetObject;',
    '    position = [string]$e.InvocationInfo.PositionMessage } })',
    '  exit 1',
    '}',
  ].join('\n')
}

/** `-EncodedCommand` takes base64 of the UTF-16LE script. */
export function encodedCommand(text: string): string {
  return `${POWERSHELL} -EncodedCommand ${Buffer.from(text, 'utf16le').toString('base64')}`
}

/**
 * Runs scripts on a Hyper-V host over its SSH connection. Scripts whose command line would pass
 * cmd.exe's 8,191 characters are uploaded over SFTP (UTF-8 with a BOM: Windows PowerShell 5.1
 * reads a .ps1 without one in the ANSI code page) and run with `-File`, then removed.
 */
export class PowerShellRunner {
  private home: Promise<string> | undefined

  constructor(
    private readonly ssh: SshConnection,
    private readonly host: string,
    private readonly log: Logger,
  ) {}

  async run<T = unknown>(script: HostScript, signal?: AbortSignal): Promise<T> {
    const text = scriptText(script)
    const inline = encodedCommand(text)
    const started = Date.now()
    const result =
      inline.length <= MAX_COMMAND_LINE
        ? await this.ssh.exec(inline, { ...(signal ? { signal } : {}) })
        : await this.runFile(script, text, signal)
    this.log.debug('PowerShell script ran', { host: this.host, op: script.op, ms: Date.now() - started, exit: result.code })
    return this.parse<T>(script, result.stdout.toString('utf8'), result.stderr.toString('utf8'), result.code)
  }

  private async runFile(script: HostScript, text: string, signal?: AbortSignal) {
    const sftp = await this.ssh.sftp(signal)
    this.home ??= new Promise<string>((resolve, reject) => sftp.realpath('.', (err, p) => (err ? reject(err) : resolve(p))))
    const dir = await this.home.catch((e: unknown) => {
      this.home = undefined
      throw new GutsError(
        'GUTS_DRIVER_ERROR',
        `Cannot find the SSH user's home directory on ${this.host} to upload a script: ${(e as Error).message}`,
        { cause: e },
      )
    })
    const remote = `${dir.replace(/\/$/, '')}/guts-${script.op}-${randomUUID()}.ps1`
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')])
    await new Promise<void>((resolve, reject) =>
      sftp.writeFile(remote, body, (err) => (err ? reject(uploadError(this.host, remote, err)) : resolve())),
    )
    try {
      return await this.ssh.exec(`${POWERSHELL} -File "${windowsPath(remote)}"`, { ...(signal ? { signal } : {}) })
    } finally {
      sftp.unlink(remote, (err) => {
        if (err) this.log.warn('Could not remove an uploaded script', { host: this.host, path: windowsPath(remote), error: err.message })
      })
    }
  }

  private parse<T>(script: HostScript, stdout: string, stderr: string, code: number | null): T {
    const line = stdout
      .replace(/^\uFEFF/, '')
      .split(/\r?\n/)
      .reverse()
      .find((l) => l.startsWith(RESULT))
    if (line) {
      let framed: { ok: boolean; value?: unknown; warnings?: string[]; error?: RemoteErrorRecord }
      try {
        framed = JSON.parse(line.slice(RESULT.length)) as typeof framed
      } catch (e) {
        throw new GutsError(
          'GUTS_DRIVER_ERROR',
          `The ${script.op} script on ${this.host} returned JSON that does not parse: ${(e as Error).message}`,
          { cause: e },
        )
      }
      for (const w of framed.warnings ?? []) this.log.warn(`Hyper-V host ${this.host}: ${w}`, { op: script.op })
      if (framed.ok) return framed.value as T
      throw remoteError(this.host, script.op, framed.error!)
    }
    throw processError(this.host, script.op, stderr, code)
  }
}

/** A PowerShell error record from the host as a GutsError with PowerShell's own message. */
export function remoteError(host: string, op: string, e: RemoteErrorRecord): GutsError {
  // Where in the script it failed: for the debug bundle, not for the message (the script is ours).
  const details = {
    hyperv: { op, category: e.category, errorId: e.id, exception: e.type, ...(e.position ? { position: e.position.trim() } : {}) },
  }
  const message = e.message.trim()
  if (/^CommandNotFoundException/.test(e.id)) {
    return new GutsError('GUTS_UNSUPPORTED', `${host}: ${message}`, {
      details,
      suggestions: [
        'Install the Hyper-V PowerShell module on the host: Install-WindowsFeature -Name Hyper-V-PowerShell (Windows Server) and sign in as a member of "Hyper-V Administrators".',
      ],
    })
  }
  const code =
    e.category === 'ObjectNotFound'
      ? 'GUTS_NOT_FOUND'
      : e.category === 'PermissionDenied' || e.category === 'SecurityError' || /UnauthorizedAccess/.test(e.type)
        ? 'GUTS_AUTH_FAILED'
        : e.category === 'OperationTimeout'
          ? 'GUTS_TIMEOUT'
          : 'GUTS_DRIVER_ERROR'
  const suggestions =
    code === 'GUTS_AUTH_FAILED' ? ['The SSH user must be a local Administrator or a member of "Hyper-V Administrators" on the host.'] : []
  return new GutsError(code, `Hyper-V host ${host} (${op}): ${message}`, { details, suggestions, ...(e.target ? { ref: e.target } : {}) })
}

/** No framed result: PowerShell did not start, the script did not parse, or the process died. */
function processError(host: string, op: string, stderr: string, code: number | null): GutsError {
  const streams = parseClixml(stderr)
  const text = [...streams.error, streams.plain].filter(Boolean).join('\n').trim()
  if (/is not recognized as an internal or external command/.test(text)) {
    return new GutsError('GUTS_UNSUPPORTED', `${host} has no powershell.exe on the SSH user's PATH: ${text.split('\n')[0]}`, {
      suggestions: [
        'Windows PowerShell 5.1 ships with Windows Server 2016+; check that the SSH server runs commands through cmd.exe or PowerShell.',
      ],
    })
  }
  if (/command line is too long/i.test(text)) {
    return new GutsError('GUTS_DRIVER_ERROR', `${host} refused the ${op} script: the command line is too long.`)
  }
  return new GutsError(
    'GUTS_DRIVER_ERROR',
    `The ${op} script on Hyper-V host ${host} failed (exit ${code ?? 'unknown'}): ${text || 'no output'}`,
    {
      details: { hyperv: { op, exitCode: code } },
    },
  )
}

function uploadError(host: string, path: string, err: Error): GutsError {
  return new GutsError('GUTS_DRIVER_ERROR', `Cannot upload a script to ${host} (${windowsPath(path)}) over SFTP: ${err.message}`, {
    cause: err,
  })
}
