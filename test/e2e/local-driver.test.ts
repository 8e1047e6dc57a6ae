import { beforeAll, describe, expect, it } from 'vitest'
import { open, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { DestinationDriver, DriverContext, TargetMapping, VmDescriptor } from '@guts/sdk'
import { createTestContext, type TestContext } from '@guts/sdk/testing'
import local from '../../src/drivers/local/index.js'
import { qemuImgCompare, qemuImgConvert, qemuImgCreate } from '../../src/tools/qemu-img.js'
import { errorOf } from '../helpers/error-of.js'
import { tempDir } from '../helpers/cli.js'

const MiB = 2 ** 20
let dir: string
let sources: string[]

/** The SDK's test context, working in this file's temporary directory (tempDir removes it). */
function context(): TestContext {
  return createTestContext({ workDir: dir })
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  )

function vmOf(name = 'web-01', sizes = [16 * MiB, 8 * MiB]): VmDescriptor {
  return {
    id: `src-${name}`,
    name,
    powerState: 'off',
    cpus: 2,
    memoryMiB: 2048,
    firmware: 'uefi',
    secureBoot: true,
    os: { family: 'linux', distro: 'debian' },
    disks: sizes.map((virtualSize, index) => ({ id: `disk-${index}`, index, virtualSize, format: 'vmdk', controller: 'scsi' })),
    nics: [
      { id: 'nic-0', mac: '00:50:56:a1:00:01', network: 'VM Network' },
      { id: 'nic-1', mac: '00:50:56:a1:00:02', network: 'Storage' },
    ],
  }
}

function mappingOf(name: string, extra: Partial<TargetMapping> = {}): TargetMapping {
  return {
    name,
    networks: [
      { from: 'VM Network', to: 'br0', keepMac: true },
      { from: 'Storage', to: 'br-storage', keepMac: false, fixedIp: '10.0.0.5' },
    ],
    tags: { 'guts.migration': 'm-1' },
    options: {},
    ...extra,
  }
}

/** Runs a whole import the way the engine does: targets, qemu-img convert, commit, boot. */
async function importVm(driver: DestinationDriver, vm: VmDescriptor, mapping: TargetMapping, ctx: DriverContext) {
  const session = await driver.beginImport(vm, mapping, ctx)
  for (const disk of vm.disks) {
    const target = await driver.openDiskTarget(session, disk, ctx)
    if (target.kind !== 'file') throw new Error('expected a file target')
    await qemuImgConvert({ source: sources[disk.index]!, sourceFormat: 'vmdk', target: target.path, targetFormat: target.format })
    await driver.commitDisk(
      session,
      disk,
      {
        diskId: disk.id,
        route: 'qemu-img:file->file',
        virtualSize: disk.virtualSize,
        bytesWritten: MiB,
        format: target.format,
        sha256: `sha-${disk.id}`,
      },
      ctx,
    )
  }
  const instance = await driver.boot(session, ctx)
  return { session, instance }
}

beforeAll(async () => {
  dir = tempDir('guts-local-')
  sources = []
  for (const [i, size] of [16 * MiB, 8 * MiB].entries()) {
    const raw = join(dir, `src${i}.raw`)
    await qemuImgCreate(raw, 'raw', size)
    const fh = await open(raw, 'r+')
    await fh.write(Buffer.alloc(MiB, `disk ${i} `), 0, MiB, size / 2)
    await fh.close()
    const vmdk = join(dir, `src${i}.vmdk`)
    await qemuImgConvert({
      source: raw,
      sourceFormat: 'raw',
      target: vmdk,
      targetFormat: 'vmdk',
      targetOptions: ['subformat=streamOptimized'],
    })
    sources.push(vmdk)
  }
})

describe('local destination', () => {
  it('imports a VM: qcow2 disks equal to the source, a manifest, a clean verify', async () => {
    const driver = await local.create({ directory: 'out', baseDir: dir })
    const ctx = context()
    await driver.connect(ctx)
    const vm = vmOf()
    expect(await driver.preflight(vm, mappingOf('web-01'), ctx)).toEqual([])
    const { session, instance } = await importVm(driver, vm, mappingOf('web-01'), ctx)
    const vmDir = join(dir, 'out', 'web-01')
    expect(instance.id).toBe(vmDir)
    for (const [i, src] of sources.entries()) {
      expect(
        (await qemuImgCompare({ path: join(vmDir, `web-01-disk${i}.qcow2`), format: 'qcow2' }, { path: src, format: 'vmdk' })).same,
      ).toBe(true)
    }
    const manifest = JSON.parse(await readFile(join(vmDir, 'vm.json'), 'utf8'))
    expect(manifest).toMatchObject({
      name: 'web-01',
      source: { id: 'src-web-01', name: 'web-01' },
      cpus: 2,
      memoryMiB: 2048,
      firmware: 'uefi',
      secureBoot: true,
      os: { family: 'linux' },
      nics: [
        { mac: '00:50:56:a1:00:01', sourceNetwork: 'VM Network', network: 'br0', keepMac: true },
        { mac: '00:50:56:a1:00:02', sourceNetwork: 'Storage', network: 'br-storage', keepMac: false, fixedIp: '10.0.0.5' },
      ],
      disks: [
        {
          id: 'disk-0',
          file: 'web-01-disk0.qcow2',
          format: 'qcow2',
          virtualSize: 16 * MiB,
          sha256: 'sha-disk-0',
          route: 'qemu-img:file->file',
        },
        { id: 'disk-1', file: 'web-01-disk1.qcow2', format: 'qcow2', virtualSize: 8 * MiB, sha256: 'sha-disk-1' },
      ],
    })
    expect(await driver.verify(session, instance, ctx)).toEqual([])
    // Undo entries were recorded for everything created: folder, disks, commit sidecar, manifest.
    expect(ctx.undo.map((u) => u.ref.slice(vmDir.length))).toEqual([
      '',
      '/web-01-disk0.qcow2',
      '/.guts-commits.json',
      '/web-01-disk1.qcow2',
      '/.guts-commits.json',
      '/vm.json',
    ])
    await driver.endImport(session, 'succeeded', ctx)
    await driver.endImport(session, 'succeeded', ctx)
    expect((await readdir(vmDir)).sort()).toEqual(['vm.json', 'web-01-disk0.qcow2', 'web-01-disk1.qcow2'])

    // A second migration of the same VM would overwrite it: refused.
    expect((await driver.preflight(vm, mappingOf('web-01'), ctx)).map((f) => [f.severity, f.code])).toEqual([['error', 'vm-exists']])
    expect((await errorOf(driver.beginImport(vm, mappingOf('web-01'), ctx))).code).toBe('GUTS_CONFLICT')
  })

  it('verify catches a missing disk and a size mismatch', async () => {
    const driver = await local.create({ directory: join(dir, 'out') })
    const ctx = context()
    const vm = vmOf('db-01')
    const { session, instance } = await importVm(driver, vm, mappingOf('db-01'), ctx)
    const vmDir = join(dir, 'out', 'db-01')
    await rm(join(vmDir, 'db-01-disk0.qcow2'))
    await rm(join(vmDir, 'db-01-disk1.qcow2'))
    await qemuImgCreate(join(vmDir, 'db-01-disk1.qcow2'), 'qcow2', 4 * MiB)
    const codes = (await driver.verify(session, instance, ctx)).map((f) => [f.ref, f.code])
    expect(codes).toEqual([
      ['db-01/disk-0', 'disk-missing'],
      ['db-01/disk-1', 'disk-size-mismatch'],
    ])
  })

  it('rolls back exactly what it created, idempotently, keeping foreign files', async () => {
    const driver = await local.create({ directory: join(dir, 'out'), format: 'raw' })
    const ctx = context()
    const vm = vmOf('app-01')
    const { session, instance } = await importVm(driver, vm, mappingOf('app-01'), ctx)
    const vmDir = join(dir, 'out', 'app-01')
    expect(await exists(join(vmDir, 'app-01-disk0.raw'))).toBe(true)
    expect(await driver.verify(session, instance, ctx)).toEqual([])
    const newestFirst = [...ctx.undo].reverse()
    await driver.rollback(session, newestFirst, ctx)
    expect(await exists(vmDir)).toBe(false)
    await driver.rollback(session, newestFirst, ctx)
    await driver.rollback(undefined, newestFirst, ctx)

    // A crash right after beginImport: no session, undo entries for files that never came to be.
    const ctx2 = context()
    const s2 = await driver.beginImport(vm, mappingOf('app-01'), ctx2)
    await driver.openDiskTarget(s2, vm.disks[0]!, ctx2)
    await writeFile(join(vmDir, 'notes.txt'), 'not ours')
    await driver.rollback(undefined, [...ctx2.undo].reverse(), ctx2)
    expect(await readdir(vmDir)).toEqual(['notes.txt'])
    await rm(join(vmDir, 'notes.txt'))
    await driver.rollback(undefined, [...ctx2.undo].reverse(), ctx2)
    expect(await exists(vmDir)).toBe(false)
    await driver.endImport(s2, 'failed', ctx2)
  })

  it('preflight reports unusable directories, names, formats, space and unmapped networks', async () => {
    const blocker = join(dir, 'a-file')
    await writeFile(blocker, 'x')
    const ctx = context()
    const blocked = await local.create({ directory: join(blocker, 'sub') })
    expect((await blocked.preflight(vmOf(), mappingOf('x'), ctx)).map((f) => f.code)).toEqual(['directory-not-writable'])

    const driver = await local.create({ directory: join(dir, 'fresh', 'deeper') })
    const huge = vmOf('huge', [2 ** 50])
    const findings = await driver.preflight(huge, mappingOf('../evil', { diskFormat: 'vmdk', networks: [] }), ctx)
    expect(findings.map((f) => [f.severity, f.code])).toEqual([
      ['error', 'invalid-name'],
      ['error', 'format-not-accepted'],
      ['warning', 'low-disk-space'],
      ['warning', 'network-not-mapped'],
      ['warning', 'network-not-mapped'],
    ])
    expect(await exists(join(dir, 'fresh'))).toBe(false) // preflight creates nothing
    expect((await errorOf(driver.beginImport(huge, mappingOf('../evil'), ctx))).code).toBe('GUTS_PLAN_INVALID')
    expect((await errorOf(driver.beginImport(huge, mappingOf('ok', { diskFormat: 'vpc' }), ctx))).code).toBe('GUTS_UNSUPPORTED')
  })

  it('declares its capabilities and options schema', () => {
    expect(local.name).toBe('local')
    expect(local.role).toBe('destination')
    const d = local.create({ directory: '/tmp' }) as DestinationDriver
    expect(d.capabilities).toMatchObject({
      diskTargets: ['file'],
      acceptsFormats: ['qcow2', 'raw'],
      firmware: ['bios', 'uefi'],
      incremental: false,
    })
    expect(local.optionsSchema).toMatchObject({ additionalProperties: false, required: ['directory'] })
  })
})
