import { randomFillSync } from 'node:crypto'
import { readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT, runCli, tempDir } from '../helpers/cli.js'

/** A third-party driver plugin, added the way its users would: `guts plugins link`, then a plan. */
describe('driver plugins', () => {
  it('links the template driver, lists it and migrates one of its VMs', async () => {
    const dataDir = tempDir()
    const vms = tempDir()
    const disk = Buffer.alloc(3 * 1024 * 1024)
    randomFillSync(disk.subarray(0, 1024 * 1024))
    writeFileSync(join(vms, 'tpl-01-disk0.raw'), disk)
    writeFileSync(
      join(vms, 'tpl-01.json'),
      JSON.stringify({
        cpus: 1,
        memoryMiB: 512,
        firmware: 'bios',
        os: { family: 'linux' },
        disks: [{ path: 'tpl-01-disk0.raw', controller: 'virtio' }],
        nics: [{ mac: '52:54:00:aa:bb:01', network: 'lan' }],
      }),
    )
    const link = await runCli(['plugins', 'link', join(ROOT, 'examples/driver-template'), '--no-install'], { dataDir })
    expect({ code: link.code, stderr: link.stderr }).toMatchObject({ code: 0 })

    const list = await runCli(['drivers', 'list', '--json'], { dataDir })
    expect(JSON.parse(list.stdout)).toContainEqual(
      expect.objectContaining({
        name: 'template-source',
        role: 'source',
        plugin: 'guts-driver-template',
        capabilities: ['diskAccess=stream'],
      }),
    )

    const out = tempDir()
    writeFileSync(
      join(vms, 'plan.yaml'),
      `version: 1
name: from-plugin
source: { driver: template-source, directory: ${vms} }
destination: { driver: local, directory: ${out}, format: raw }
vms: [{ name: tpl-01 }]
`,
    )
    const run = await runCli(['migrate', join(vms, 'plan.yaml'), '--json'], { dataDir })
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' })
    const done = run.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; route?: string; sha256?: string })
      .find((e) => e.type === 'disk.done')
    expect(done).toMatchObject({ route: 'stream:raw->file', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) })
    expect(readdirSync(join(out, 'tpl-01')).sort()).toEqual(['tpl-01-disk0.raw', 'vm.json'])
  })
})
