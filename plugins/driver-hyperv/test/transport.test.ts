import { createHash, createHmac, randomBytes } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { silentLogger } from '@guts/sdk'
import {
  checkHostKey,
  encodedCommand,
  fingerprint,
  parseClixml,
  PowerShellRunner,
  scriptText,
  sftpPath,
  windowsPath,
  MAX_COMMAND_LINE,
} from '../src/testing.js'

/** An SSH public key blob: string type, then key bytes (enough for matching). */
function keyBlob(type = 'ssh-ed25519'): Buffer {
  const t = Buffer.from(type)
  const len = Buffer.alloc(4)
  len.writeUInt32BE(t.length)
  return Buffer.concat([len, t, randomBytes(36)])
}

describe('host keys', () => {
  const key = keyBlob()
  const other = keyBlob()
  const dir = mkdtempSync(join(tmpdir(), 'guts-hk-'))

  it('fingerprints like ssh-keygen -l', () => {
    expect(fingerprint(key)).toBe(`SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`)
  })

  it('trusts a pinned fingerprint or key line and reports anything else as a mismatch', () => {
    expect(checkHostKey({ pinned: fingerprint(key), knownHostsFiles: [] }, 'hv', 22, key)).toBe('trusted')
    expect(checkHostKey({ pinned: `ssh-ed25519 ${key.toString('base64')} root@hv`, knownHostsFiles: [] }, 'hv', 22, key)).toBe('trusted')
    expect(checkHostKey({ pinned: fingerprint(other), knownHostsFiles: [] }, 'hv', 22, key)).toBe('mismatch')
  })

  it('reads known_hosts: [host]:port, hashed names, wildcards, revoked keys; unknown hosts are unknown', () => {
    const salt = randomBytes(20)
    const hashed = createHmac('sha1', salt).update('[hv2]:2222').digest('base64')
    const file = join(dir, 'known_hosts')
    writeFileSync(
      file,
      [
        '# comment',
        `[hv1]:2222 ssh-ed25519 ${key.toString('base64')}`,
        `|1|${salt.toString('base64')}|${hashed} ssh-ed25519 ${key.toString('base64')}`,
        `*.corp.example ssh-ed25519 ${key.toString('base64')}`,
        `hv3 ssh-ed25519 ${other.toString('base64')}`,
        `@revoked * ssh-ed25519 ${other.toString('base64')}`,
      ].join('\n'),
    )
    const policy = { knownHostsFiles: [file, join(dir, 'missing')] }
    expect(checkHostKey(policy, 'hv1', 2222, key)).toBe('trusted')
    expect(checkHostKey(policy, 'hv1', 22, key)).toBe('unknown')
    expect(checkHostKey(policy, 'hv2', 2222, key)).toBe('trusted')
    expect(checkHostKey(policy, 'a.corp.example', 22, key)).toBe('trusted')
    expect(checkHostKey(policy, 'hv3', 22, key)).toBe('mismatch')
    expect(checkHostKey(policy, 'hv3', 22, other)).toBe('mismatch')
  })
})

describe('PowerShell scripts', () => {
  it('passes inputs as base64 data, never as script text', () => {
    const evil = "x'; Remove-VM *; '$(Stop-Computer)"
    const text = scriptText({ op: 'probe', body: 'Get-VM -Name $GutsArgs.name', args: { name: evil } })
    expect(text).not.toContain('Remove-VM')
    expect(text).not.toContain('Stop-Computer')
    expect(text).toContain(Buffer.from(JSON.stringify({ name: evil })).toString('base64'))
  })

  it('encodes -EncodedCommand as base64 of UTF-16LE', () => {
    const cmd = encodedCommand('Get-VM | ForEach-Object { $_.Name } # Büro')
    const b64 = cmd.split(' ').pop()!
    expect(Buffer.from(b64, 'base64').toString('utf16le')).toBe('Get-VM | ForEach-Object { $_.Name } # Büro')
    expect(cmd.startsWith('powershell.exe -NoProfile -NonInteractive')).toBe(true)
  })

  it('parses CLIXML error streams back into lines', () => {
    const stderr =
      '#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><S S="Error">Get-VHD : The system cannot find the file_x000D__x000A_</S><S S="Error">At line:1 char:1 &amp; more_x000D__x000A_</S><S S="warning">careful</S></Objs>'
    expect(parseClixml(stderr)).toEqual({
      error: ['Get-VHD : The system cannot find the file', 'At line:1 char:1 & more'],
      warning: ['careful'],
      plain: '',
    })
  })

  function runnerAnswering(answer: { code: number | null; stdout: string; stderr?: string }, seen: string[] = []): PowerShellRunner {
    const ssh = {
      exec: async (command: string) => {
        seen.push(command)
        return { code: answer.code, stdout: Buffer.from(answer.stdout), stderr: Buffer.from(answer.stderr ?? '') }
      },
    }
    return new PowerShellRunner(ssh as never, 'HV01', silentLogger)
  }

  it('returns the framed result and ignores other output', async () => {
    const r = runnerAnswering({ code: 0, stdout: '\uFEFFnoise\r\n#guts-result:{"ok":true,"warnings":[],"value":{"a":1}}\r\n' })
    await expect(r.run({ op: 'x', body: '1' })).resolves.toEqual({ a: 1 })
  })

  it("turns a thrown error record into a GutsError with PowerShell's message and category", async () => {
    const rec = {
      message: 'Hyper-V was unable to find a virtual machine with name "nope".',
      category: 'ObjectNotFound',
      id: 'InvalidParameter,Microsoft.HyperV.PowerShell.Commands.GetVM',
      type: 'Microsoft.HyperV.PowerShell.VirtualizationException',
      target: 'nope',
    }
    const r = runnerAnswering({ code: 1, stdout: `#guts-result:${JSON.stringify({ ok: false, error: rec })}\n` })
    await expect(r.run({ op: 'describe', body: '1' })).rejects.toMatchObject({
      code: 'GUTS_NOT_FOUND',
      message: 'Hyper-V host HV01 (describe): Hyper-V was unable to find a virtual machine with name "nope".',
    })
    const missing = { ...rec, message: "The term 'Get-VM' is not recognized", category: 'ObjectNotFound', id: 'CommandNotFoundException' }
    await expect(
      runnerAnswering({ code: 1, stdout: `#guts-result:${JSON.stringify({ ok: false, error: missing })}\n` }).run({ op: 'x', body: '1' }),
    ).rejects.toMatchObject({ code: 'GUTS_UNSUPPORTED' })
  })

  it('without a framed result reports stderr (CLIXML or cmd.exe text)', async () => {
    await expect(
      runnerAnswering({ code: 1, stdout: '', stderr: "'powershell.exe' is not recognized as an internal or external command,\r\n" }).run({
        op: 'x',
        body: '1',
      }),
    ).rejects.toMatchObject({ code: 'GUTS_UNSUPPORTED' })
    await expect(
      runnerAnswering({
        code: 1,
        stdout: '',
        stderr: '#< CLIXML\r\n<Objs><S S="Error">Missing closing brace_x000D__x000A_</S></Objs>',
      }).run({ op: 'x', body: '1' }),
    ).rejects.toThrow(/x script on Hyper-V host HV01 failed \(exit 1\): Missing closing brace/)
  })

  it('sends scripts that fit the command line inline', async () => {
    const seen: string[] = []
    await runnerAnswering({ code: 0, stdout: '#guts-result:{"ok":true,"value":null}\n' }, seen).run({ op: 'x', body: 'Get-VM' })
    expect(seen[0]!.length).toBeLessThanOrEqual(MAX_COMMAND_LINE)
    expect(seen[0]).toMatch(/-EncodedCommand [A-Za-z0-9+/=]+$/)
  })
})

describe('paths', () => {
  it('converts between Windows and Windows-OpenSSH SFTP paths', () => {
    expect(sftpPath('C:\\Hyper-V\\Virtual Hard Disks\\web01.vhdx')).toBe('/C:/Hyper-V/Virtual Hard Disks/web01.vhdx')
    expect(windowsPath('/c:/Users/x/a.ps1')).toBe('C:\\Users\\x\\a.ps1')
    expect(() => sftpPath('\\\\nas\\share\\x.vhdx')).toThrow()
  })
})
