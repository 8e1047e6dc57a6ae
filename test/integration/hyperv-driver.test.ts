import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { DiskSource, SourceDriver, VmDescriptor } from '@guts/sdk'
import hyperv from '@guts/driver-hyperv'
import { tempDir } from '../helpers/cli.js'
import { cuttingProxy } from '../helpers/cutting-proxy.js'
import { ctx, labAvailable, labCmd, labFilePath, labOptions, labPassword, readLab } from './hyperv-lab.js'

const TIMEOUT = 120_000

/** sha256 and length of everything a raw disk stream delivers. */
async function digest(src: DiskSource): Promise<{ sha256: string; bytes: number }> {
  if (src.kind !== 'stream') throw new Error(`expected a stream, got ${src.kind}`)
  const hash = createHash('sha256')
  let bytes = 0
  for await (const chunk of await src.open(new AbortController().signal)) {
    hash.update(chunk as Buffer)
    bytes += (chunk as Buffer).length
  }
  return { sha256: hash.digest('hex'), bytes }
}

/** What qemu-img reads from the same file: the reference for non-differencing disks. */
function qemuRaw(file: string, format: string, dir: string): { sha256: string; bytes: number; path: string } {
  const out = join(dir, `ref-${createHash('sha1').update(file).digest('hex')}.raw`)
  execFileSync('qemu-img', ['convert', '-f', format, '-O', 'raw', file, out])
  const data = readFileSync(out)
  return { sha256: createHash('sha256').update(data).digest('hex'), bytes: data.length, path: out }
}

/**
 * The hyperv driver against the lab host (real PowerShell behind a private sshd): connection
 * checks, inventory, and cold export of VHD and VHDX disks byte-equal to what qemu-img reads.
 */
if (labAvailable()) {
  const lab = readLab()
  const dir = tempDir('guts-hyperv-driver-')
  const drivers: SourceDriver[] = []
  const driver = (over = {}) => {
    const d = hyperv.create(labOptions(lab, over))
    drivers.push(d)
    return d
  }
  afterAll(async () => {
    for (const d of drivers) await d.dispose()
    // Scripts over cmd.exe's limit went up as files (describe does): none may stay behind. Only
    // old ones count: other test files may be running one right now.
    const left = execFileSync('find', [labFilePath(lab, `C:\\Users\\${lab.user}`), '-name', 'guts-*.ps1', '-mmin', '+3'], {
      encoding: 'utf8',
    })
    expect(left).toBe('')
  })
  const byName = async (d: SourceDriver, name: string): Promise<VmDescriptor> => {
    for await (const vm of d.listVms({ name }, ctx())) return d.describeVm(vm, ctx())
    throw new Error(`no VM ${name}`)
  }

  describe('hyperv: connecting', () => {
    it('logs in with a key or a password; the host key is checked first', async () => {
      await driver().connect(ctx())
      await driver({ privateKey: undefined, password: labPassword(lab) }).connect(ctx())
    })

    it('a host key other than the pinned one fails before anything is sent', async () => {
      const wrong = 'SHA256:' + createHash('sha256').update('another host').digest('base64').replace(/=+$/, '')
      await expect(driver({ hostKey: wrong }).connect(ctx())).rejects.toMatchObject({
        code: 'GUTS_AUTH_FAILED',
        message: expect.stringContaining('is not the one this source trusts'),
      })
    })

    it('an unknown host key names its fingerprint to pin; known_hosts files are read', async () => {
      const empty = join(dir, 'empty_known_hosts')
      writeFileSync(empty, '')
      const e = await driver({ hostKey: undefined, knownHosts: [empty] })
        .connect(ctx())
        .catch((x: unknown) => x)
      expect(e).toMatchObject({ code: 'GUTS_AUTH_FAILED', message: expect.stringContaining(lab.hostKeySha256) })
      await driver({ hostKey: undefined, knownHosts: [lab.knownHosts] }).connect(ctx())
    })

    it('wrong credentials and a closed port are clear errors', async () => {
      await expect(driver({ privateKey: undefined, password: 'wrong' }).connect(ctx())).rejects.toMatchObject({
        code: 'GUTS_AUTH_FAILED',
        message: expect.stringContaining('refused the login of'),
      })
      await expect(driver({ port: 1 }).connect(ctx())).rejects.toMatchObject({ code: 'GUTS_UNREACHABLE' })
    })
  })

  describe('hyperv: inventory', () => {
    it('lists every VM of the host, non-ASCII names included, with power states', async () => {
      const vms = []
      for await (const vm of driver().listVms({}, ctx())) vms.push(vm)
      expect(vms.map((v) => v.name)).toEqual(expect.arrayContaining(['web01', 'legacy01', 'Büro-Server-äöü']))
      expect(vms.find((v) => v.name === 'legacy01')).toMatchObject({ powerState: 'off', host: 'HV-LAB01' })
      const globbed = []
      for await (const vm of driver().listVms({ name: 'B*RO-*' }, ctx())) globbed.push(vm.name)
      expect(globbed).toEqual(['Büro-Server-äöü'])
    })

    it('describes a generation 2 VM with secure boot and two SCSI VHDX disks', async () => {
      const vm = await byName(driver(), 'web01')
      expect(vm).toMatchObject({ firmware: 'uefi', secureBoot: true, powerState: 'on', cpus: 4, memoryMiB: 4096 })
      expect(vm.disks.map((d) => [d.id, d.format, d.controller])).toEqual([
        ['scsi0:0', 'vhdx', 'scsi'],
        ['scsi0:1', 'vhdx', 'scsi'],
      ])
      expect(vm.nics[0]).toMatchObject({ mac: '00:15:5d:0a:1b:2c', network: 'vSwitch-Prod', model: 'hyperv' })
    })

    it('describes a generation 1 VM with an IDE VHD and a legacy NIC', async () => {
      const vm = await byName(driver(), 'legacy01')
      expect(vm).toMatchObject({ firmware: 'bios', secureBoot: false, powerState: 'off' })
      expect(vm.disks.map((d) => [d.id, d.format, d.controller])).toEqual([['ide0:0', 'vpc', 'ide']])
      expect(vm.nics[0]).toMatchObject({ model: 'e1000', network: 'vSwitch-Legacy' })
    })

    it('preflight names what cannot be migrated: a pass-through disk, a shared VHD Set, a clustered role', async () => {
      const d = driver()
      const codes = async (name: string, mode: 'cold' | 'snapshot') =>
        (await d.preflight(await byName(d, name), { mode, powerOff: 'shutdown' }, ctx())).map((f) => `${f.severity} ${f.code}`)
      expect(await codes('fs02', 'cold')).toContain('error disk-passthrough-unsupported')
      expect(await codes('sql-node1', 'snapshot')).toContain('error disk-shared-unsupported')
      expect(await codes('app-ha01', 'snapshot')).toContain('warning vm-clustered')
      expect(await codes('web01', 'snapshot')).toEqual(['warning vm-tpm'])
    })

    it('an unknown VM id is GUTS_NOT_FOUND with Hyper-V’s message', async () => {
      await expect(driver().describeVm({ id: '00000000-0000-4000-8000-000000000000', name: 'ghost' }, ctx())).rejects.toMatchObject({
        code: 'GUTS_NOT_FOUND',
      })
    })
  })

  describe('hyperv: cold export', () => {
    for (const name of ['legacy01', 'Büro-Server-äöü']) {
      it(
        `${name}: the raw stream equals what qemu-img reads from the file`,
        async () => {
          const d = driver()
          const vm = await byName(d, name)
          const s = await d.beginExport(vm, { mode: 'cold', powerOff: 'refuse' }, ctx())
          try {
            for (const disk of vm.disks) {
              const src = await d.openDisk(JSON.parse(JSON.stringify(s)), disk.id, ctx())
              const got = await digest(src)
              // Random access (for delta syncs) through the same chain: an odd range across a block edge.
              const at = 1024 * 1024 - 700
              const range: Buffer[] = []
              for await (const c of await src.readRange!(at, 70_000, new AbortController().signal)) range.push(c as Buffer)
              await src.close?.()
              const drive = (vm.extra!.hyperv as { drives: { id: string; chain: { path: string }[] }[] }).drives.find(
                (x) => x.id === disk.id,
              )!
              const ref = qemuRaw(labFilePath(lab, drive.chain[0]!.path), disk.format, dir)
              expect(got).toEqual({ sha256: ref.sha256, bytes: ref.bytes })
              expect(Buffer.concat(range).equals(readFileSync(ref.path).subarray(at, at + 70_000))).toBe(true)
              expect(got.bytes).toBe(disk.virtualSize)
            }
          } finally {
            await d.endExport(s, 'succeeded', ctx())
          }
        },
        TIMEOUT,
      )
    }

    it('a running VM cannot be exported cold', async () => {
      const d = driver()
      const vm = await byName(d, 'web01')
      await expect(d.beginExport(vm, { mode: 'cold', powerOff: 'refuse' }, ctx())).rejects.toMatchObject({ code: 'GUTS_CONFLICT' })
    })
  })

  describe('hyperv: live export through a checkpoint', () => {
    const marks = (tag: string, id: string) => ({ 'guts-migration': `test-${tag}-${process.pid}`, 'guts-source-vm': id })
    const checkpoints = (vm: string): string[] =>
      labCmd('ps', `@(Get-VMSnapshot -VMName '${vm}' | ForEach-Object { $_.Name }) -join "|"`).trim().split('|').filter(Boolean)
    const raw = (winPath: string): { sha256: string; bytes: number } => {
      const out = join(dir, `disk-raw-${createHash('sha1').update(winPath).digest('hex')}.raw`)
      labCmd('disk-raw', winPath, out)
      const data = readFileSync(out)
      return { sha256: createHash('sha256').update(data).digest('hex'), bytes: data.length }
    }
    const chainOf = (s: { data: unknown }, diskId: string): string[] =>
      (s.data as { disks: Record<string, { chain: string[] }> }).disks[diskId]!.chain

    it(
      'web01: the frozen disks are copied while the VM runs and writes on; the checkpoint is merged away',
      async () => {
        const d = driver()
        const vm = await byName(d, 'web01')
        const before = checkpoints('web01')
        labCmd('guest-write', 'web01', '0', String(5 * 1024 * 1024), '65536')
        const s = await d.beginExport(vm, { mode: 'snapshot', powerOff: 'refuse', marks: marks('live', vm.id) }, ctx())
        try {
          expect(checkpoints('web01')).toEqual([...before, `guts test-live-${process.pid}`])
          // The guest goes on writing: into the new differencing disk, not into what is being copied.
          labCmd('guest-write', 'web01', '0', String(7 * 1024 * 1024), '4096')
          for (const disk of vm.disks) {
            const chain = chainOf(s, disk.id)
            expect(chain[0]).toMatch(/\.vhdx$/)
            const got = await digest(await d.openDisk(JSON.parse(JSON.stringify(s)), disk.id, ctx()))
            expect(got).toEqual(raw(chain[0]!))
          }
        } finally {
          await d.endExport(s, 'succeeded', ctx())
          await d.endExport(s, 'succeeded', ctx())
        }
        expect(checkpoints('web01')).toEqual(before)
        const after = await byName(d, 'web01')
        expect((after.extra!.hyperv as { drives: { path: string }[] }).drives.map((x) => x.path)).toEqual(
          (vm.extra!.hyperv as { drives: { path: string }[] }).drives.map((x) => x.path),
        )
      },
      TIMEOUT,
    )

    it(
      'db01 (two checkpoints already): each disk is read through its differencing chain',
      async () => {
        const d = driver()
        const vm = await byName(d, 'db01')
        const s = await d.beginExport(vm, { mode: 'snapshot', powerOff: 'refuse', marks: marks('chain', vm.id) }, ctx())
        try {
          for (const disk of vm.disks) {
            const chain = chainOf(s, disk.id)
            expect(chain.length).toBe(3)
            expect(chain[0]).toMatch(/\.avhdx$/)
            expect(await digest(await d.openDisk(s, disk.id, ctx()))).toEqual(raw(chain[0]!))
          }
        } finally {
          await d.endExport(s, 'failed', ctx())
        }
        expect(checkpoints('db01')).toEqual(['before-upgrade', 'nightly'])
      },
      TIMEOUT,
    )

    it(
      'an SFTP connection cut mid-read is a clear error; the checkpoint is still removed',
      async () => {
        const proxy = await cuttingProxy(lab.port, 4 * 1024 * 1024)
        const d = driver({ port: proxy.port })
        try {
          const vm = await byName(d, 'web01')
          const s = await d.beginExport(vm, { mode: 'snapshot', powerOff: 'refuse', marks: marks('cut', vm.id) }, ctx())
          try {
            await expect(digest(await d.openDisk(s, vm.disks[0]!.id, ctx()))).rejects.toMatchObject({ code: 'GUTS_UNREACHABLE' })
            expect(proxy.cuts()).toBe(1)
          } finally {
            await d.endExport(s, 'failed', ctx())
          }
          expect(checkpoints('web01')).not.toContain(`guts test-cut-${process.pid}`)
        } finally {
          await d.dispose()
          await proxy.close()
        }
      },
      TIMEOUT,
    )

    it(
      'a PowerShell error mid-export (Get-VHD fails on the host) is a clear error and leaves no checkpoint',
      async () => {
        const d = driver()
        const vm = await byName(d, 'db01')
        labCmd('fault', 'Get-VHD', '1', 'The operation failed because the file was not found.', 'db01')
        try {
          await expect(
            d.beginExport(vm, { mode: 'snapshot', powerOff: 'refuse', marks: marks('fault', vm.id) }, ctx()),
          ).rejects.toMatchObject({
            code: 'GUTS_DRIVER_ERROR',
            message: expect.stringContaining('The operation failed because the file was not found.'),
          })
        } finally {
          labCmd('fault', 'clear')
        }
        expect(checkpoints('db01')).toEqual(['before-upgrade', 'nightly'])
      },
      TIMEOUT,
    )

    it(
      'releaseLeftovers removes the checkpoint of an export that died, and only that one',
      async () => {
        const d = driver()
        const vm = await byName(d, 'db01')
        const m = marks('crash', vm.id)
        await d.beginExport(vm, { mode: 'snapshot', powerOff: 'refuse', marks: m }, ctx())
        expect(checkpoints('db01')).toContain(`guts test-crash-${process.pid}`)
        await d.dispose() // the process "dies": no endExport
        const next = driver()
        expect(await next.releaseLeftovers(vm, { ...m, 'guts-migration': 'someone-else' }, ctx())).toBe(0)
        expect(await next.releaseLeftovers(vm, { ...m, 'guts-source-vm': '00000000-0000-4000-8000-000000000000' }, ctx())).toBe(0)
        expect(await next.releaseLeftovers(vm, m, ctx())).toBe(1)
        expect(await next.releaseLeftovers(vm, m, ctx())).toBe(0)
        expect(checkpoints('db01')).toEqual(['before-upgrade', 'nightly'])
      },
      TIMEOUT,
    )
  })
}
