import { randomFillSync } from 'node:crypto'
import { openSync, readdirSync, writeFileSync, writeSync, closeSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { runCli, tempDir } from '../helpers/cli.js'

const MiB = 2 ** 20

/** A raw disk full of random data, so converting it takes long enough to interrupt. */
function randomRaw(path: string, sizeMiB: number): void {
  const fd = openSync(path, 'w')
  const chunk = Buffer.alloc(8 * MiB)
  for (let i = 0; i < sizeMiB / 8; i++) writeSync(fd, randomFillSync(chunk))
  closeSync(fd)
}

/**
 * Crash safety through the real CLI: kill -9 after the first disk is committed, then resume; and
 * SIGINT (Ctrl-C) in the middle of a transfer, which must roll back everything created.
 */
describe('interrupted migrations', () => {
  let dir: string
  const plan = (out: string) => `version: 1
name: crash
source:
  driver: files
  vms:
    - name: big
      disks: [{ path: small.raw, format: raw }, { path: large.raw, format: raw }]
destination: { driver: local, directory: ${out} }
policy: { diskConcurrency: 1 }
vms: [{ name: big }]
`
  beforeAll(() => {
    dir = tempDir()
    randomRaw(join(dir, 'small.raw'), 8)
    randomRaw(join(dir, 'large.raw'), 1024)
  })

  it('resumes after kill -9 without redoing committed disks or duplicating outputs', async () => {
    const dataDir = tempDir()
    const out = join(dir, 'out-resume')
    writeFileSync(join(dir, 'resume.yaml'), plan(out))
    let migrationId = ''
    const first = await runCli(['migrate', join(dir, 'resume.yaml'), '--json'], {
      dataDir,
      onStdout: (chunk, child) => {
        migrationId ||= /"migrationId":"([0-9a-f-]+)"/.exec(chunk)?.[1] ?? ''
        if (chunk.includes('"type":"disk.done"')) child.kill('SIGKILL')
      },
    })
    expect(first.signal).toBe('SIGKILL')
    expect(migrationId).not.toBe('')
    const during = await runCli(['migration', 'show', migrationId, '--json'], { dataDir })
    expect(JSON.parse(during.stdout)).toMatchObject({ status: 'running', vms: [{ name: 'big', status: 'running' }] })
    const listed = await runCli(['migration', 'list'], { dataDir })
    expect(listed.stdout).toMatch(/crash\s+interrupted/)
    expect(listed.stdout).toContain(`guts migration resume ${migrationId.slice(0, 8)}`)

    const resumed = await runCli(['migration', 'resume', migrationId.slice(0, 8), '--json'], { dataDir })
    expect({ code: resumed.code, stderr: resumed.stderr }).toEqual({ code: 0, stderr: '' })
    const events = resumed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; disk?: string; resumed?: boolean })
    expect(events.find((e) => e.type === 'migration.started')?.resumed).toBe(true)
    // disk-0 was committed before the kill: only disk-1 moves again.
    expect(events.filter((e) => e.type === 'disk.done').map((e) => e.disk)).toEqual(['disk-1'])
    expect(readdirSync(join(out, 'big')).sort()).toEqual(['big-disk0.qcow2', 'big-disk1.qcow2', 'vm.json'])

    const list = JSON.parse((await runCli(['migration', 'list', '--json'], { dataDir })).stdout) as { id: string; status: string }[]
    expect(list).toEqual([expect.objectContaining({ id: migrationId, status: 'succeeded' })])
    const show = await runCli(['migration', 'show', migrationId, '--events'], { dataDir })
    expect(show.stdout).toMatch(/migration\.started/)
  })

  it('rolls back partial outputs on Ctrl-C and exits 130', async () => {
    const dataDir = tempDir()
    const out = join(dir, 'out-cancel')
    writeFileSync(join(dir, 'cancel.yaml'), plan(out))
    let sent = false
    const r = await runCli(['migrate', join(dir, 'cancel.yaml'), '--json'], {
      dataDir,
      onStdout: (chunk, child) => {
        if (!sent && chunk.includes('"type":"disk.done"')) {
          sent = true
          child.kill('SIGINT')
        }
      },
    })
    expect(r.code).toBe(130)
    expect(r.stdout).toMatch(/"type":"vm.rollback","vm":"big","state":"done"/)
    expect(existsSync(join(out, 'big')) ? readdirSync(join(out, 'big')) : []).toEqual([])
    const list = JSON.parse((await runCli(['migration', 'list', '--json'], { dataDir })).stdout) as {
      status: string
      vms: { status: string }[]
    }[]
    expect(list[0]).toMatchObject({ status: 'cancelled', vms: [{ status: 'cancelled' }] })
  })
})
