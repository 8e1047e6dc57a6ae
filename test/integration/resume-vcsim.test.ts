import { randomBytes } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { carriesMarks, resolveConfig, retrieve, snapshotNodes, VimSession } from '@guts/driver-vmware/testing'
import { runCli, tempDir } from '../helpers/cli.js'
import { createLabVm, destroyLabVm, flatFileOf, guestWrite, power } from './vcsim-vm.js'
import { labAvailable, readLab } from './vmware-lab.js'

const MiB = 1024 * 1024

/**
 * `kill -9` of a warm migration while its full sync holds a snapshot of the source VM, then
 * `guts migration resume`: the snapshot of the dead run is removed, the sync starts over, the
 * cutover (cutoverAt already past) finishes, and nothing is left on the source.
 */
if (labAvailable()) {
  const lab = readLab()
  const session = new VimSession(
    resolveConfig({ url: lab.url, username: lab.username, password: lab.password, thumbprint: lab.thumbprint }, {}),
  )
  const name = `guts-resume-${process.pid}`
  let vm: { id: string; ref: { type: string; value: string } }
  const snapshots = async () => {
    const [o] = await retrieve(session, [vm.ref], 'VirtualMachine', ['snapshot'])
    return o!.props.snapshot
  }

  beforeAll(async () => {
    await session.connect()
    vm = await createLabVm(session, name, 256)
    for (let i = 0; i < 6; i++) await guestWrite(lab, name, i * 40 * MiB, randomBytes(24 * MiB))
    await power(session, vm.ref, true)
  })
  afterAll(async () => {
    await destroyLabVm(session, vm.ref)
    await session.close()
  })

  describe('resume after kill -9 during a warm sync (vcsimx)', () => {
    it('leaves no snapshot behind and lands the same disk', async () => {
      const dir = tempDir('guts-resume-vcsim-')
      const dataDir = join(dir, 'data')
      const env = { GUTS_TEST_VC_PASSWORD: lab.password }
      writeFileSync(
        join(dir, 'plan.yaml'),
        [
          'version: 1',
          'name: resume-lab',
          'source:',
          '  driver: vmware',
          `  url: ${JSON.stringify(lab.url)}`,
          `  username: ${JSON.stringify(lab.username)}`,
          '  password: ${env:GUTS_TEST_VC_PASSWORD}',
          `  thumbprint: ${JSON.stringify(lab.thumbprint)}`,
          'destination: { driver: local, directory: out, format: raw }',
          `warm: { syncInterval: 1h, cutoverAt: "${new Date(Date.now() + 1000).toISOString()}" }`,
          'vms:',
          `  - name: ${name}`,
          '    mode: warm',
          '',
        ].join('\n'),
      )
      let id = ''
      const first = await runCli(['migrate', 'plan.yaml', '--json'], {
        dataDir,
        cwd: dir,
        env,
        onStdout: (chunk, child) => {
          id ||= /"migrationId":"([^"]+)"/.exec(chunk)?.[1] ?? ''
          if (chunk.includes('"type":"disk.progress"') && !child.killed) child.kill('SIGKILL')
        },
      })
      expect(first.signal).toBe('SIGKILL')
      expect(id).not.toBe('')
      // The dead run's snapshot is still there: exactly one, carrying this migration's marks.
      const held = snapshotNodes(await snapshots())
      expect(held).toHaveLength(1)
      expect(carriesMarks(held[0]!.description, { 'guts-migration': id })).toBe(true)

      const resumed = await runCli(['migration', 'resume', id.slice(0, 8)], { dataDir, cwd: dir, env })
      expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0)
      expect(await snapshots()).toBeUndefined()
      // The flat file ends at the last byte written (224 MiB); qemu-img compare reads the rest as zeros, as the guest does.
      const flat = await flatFileOf(session, lab, vm.ref)
      execFileSync('qemu-img', ['compare', '-q', '-f', 'raw', '-F', 'raw', flat, join(dir, 'out', name, `${name}-disk0.raw`)])
    })
  })
}
