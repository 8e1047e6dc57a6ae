import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { copyFile, mkdir, open, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { DiskFormat, SourceDriver, VmDescriptor } from '@guts/sdk'
import { createTestContext } from '@guts/sdk/testing'
import files from '../../src/drivers/files/index.js'
import { makeSampleOva, type SampleOva } from '../fixtures/make-sample-ova.js'
import { qemuImgCompare, qemuImgConvert, qemuImgCreate } from '../../src/tools/qemu-img.js'
import { errorOf } from '../helpers/error-of.js'
import { tempDir } from '../helpers/cli.js'

const MiB = 2 ** 20
let dir: string
let sample: SampleOva
let driver: SourceDriver

const ctx = createTestContext()
const cold = { mode: 'cold' as const, powerOff: 'refuse' as const }

const qemu = (...args: string[]) => execFileSync('qemu-img', args, { stdio: 'pipe' })

/** 16 MiB raw with data at a few offsets and holes elsewhere. */
async function makeRaw(path: string): Promise<void> {
  await qemuImgCreate(path, 'raw', 16 * MiB)
  const fh = await open(path, 'r+')
  try {
    for (const [i, at] of [0, 5 * MiB + 4096, 15 * MiB].entries()) await fh.write(Buffer.alloc(256 * 1024, `guts-${i}-`), 0, 256 * 1024, at)
  } finally {
    await fh.close()
  }
}

/** Converts what openDisk hands out, the way the core does, and checks it against the original. */
async function convertsTo(source: { path: string; format: DiskFormat }, original: string, name: string): Promise<boolean> {
  const out = join(dir, `${name}.qcow2`)
  await qemuImgConvert({ source: source.path, sourceFormat: source.format, target: out, targetFormat: 'qcow2' })
  const { same } = await qemuImgCompare({ path: out, format: 'qcow2' }, { path: original, format: 'raw' })
  await rm(out, { force: true })
  return same
}

const FORMATS: { file: string; format: DiskFormat; make: string[] }[] = [
  { file: 'sparse.vmdk', format: 'vmdk', make: ['-O', 'vmdk', '-o', 'subformat=monolithicSparse'] },
  { file: 'stream.vmdk', format: 'vmdk', make: ['-O', 'vmdk', '-o', 'subformat=streamOptimized'] },
  { file: 'disk.vhdx', format: 'vhdx', make: ['-O', 'vhdx'] },
  { file: 'disk.vhd', format: 'vpc', make: ['-O', 'vpc', '-o', 'force_size=on'] },
  { file: 'disk.qcow2', format: 'qcow2', make: ['-O', 'qcow2'] },
  { file: 'disk.img', format: 'raw', make: ['-O', 'raw'] },
]

beforeAll(async () => {
  dir = tempDir('guts-files-')
  await makeRaw(join(dir, 'original.raw'))
  await mkdir(join(dir, 'images'))
  for (const f of FORMATS) qemu('convert', '-f', 'raw', ...f.make, join(dir, 'original.raw'), join(dir, 'images', f.file))
  qemu('create', '-q', '-f', 'qcow2', '-b', join(dir, 'images', 'disk.qcow2'), '-F', 'qcow2', join(dir, 'overlay.qcow2'))
  qemu('create', '-q', '-f', 'vmdk', '-o', 'subformat=monolithicFlat', join(dir, 'flat.vmdk'), '1M')
  await rm(join(dir, 'flat-flat.vmdk'))
  await copyFile(join(dir, 'images', 'disk.qcow2'), join(dir, 'vanishing.qcow2'))
  await mkdir(join(dir, 'scan'))
  sample = await makeSampleOva(join(dir, 'scan'), { name: 'sample', keepSources: true, disks: [{ sizeMiB: 12 }, { sizeMiB: 6 }] })
  // An OVF export folder: the same package, unpacked.
  await mkdir(join(dir, 'scan', 'unpacked'))
  execFileSync('tar', ['-xf', sample.path, '-C', join(dir, 'scan', 'unpacked')])
  driver = await files.create({
    baseDir: dir,
    path: 'scan',
    vms: [
      { name: 'all-formats', disks: FORMATS.map((f) => ({ path: `images/${f.file}` })) },
      { name: 'declared', disks: [{ path: 'images/disk.vhd', format: 'vpc' }] },
      { name: 'backed', disks: [{ path: 'overlay.qcow2' }] },
      { name: 'flat-missing', disks: [{ path: 'flat.vmdk' }] },
      { name: 'vanishing', disks: [{ path: 'vanishing.qcow2' }] },
      {
        name: 'override',
        ova: 'scan/sample.ova',
        cpus: 4,
        memoryMiB: 512,
        firmware: 'bios',
        os: 'windows',
        nics: [{ network: 'Lab' }, { network: 'Lab', mac: '52-54-00-AA-BB-CC' }],
      },
    ],
  })
  await driver.connect(ctx)
})

afterAll(async () => {
  await driver?.dispose()
  await ctx.cleanup()
})

describe('files driver: listing', () => {
  it('lists scanned packages and explicit VMs, with a glob filter', async () => {
    const names: string[] = []
    for await (const vm of driver.listVms({}, ctx)) names.push(vm.name)
    // sample-sources is a folder of loose images (the OVA's raw originals): a VM too.
    expect(names).toEqual([
      'all-formats',
      'backed',
      'declared',
      'flat-missing',
      'override',
      'sample',
      'sample-sources',
      'unpacked',
      'vanishing',
    ])
    const some: string[] = []
    for await (const vm of driver.listVms({ name: '[af]*-*' }, ctx)) some.push(vm.id)
    expect(some).toEqual(['all-formats', 'flat-missing'])
    const exact: string[] = []
    for await (const vm of driver.listVms({ name: 's?mple' }, ctx)) exact.push(vm.id)
    expect(exact).toEqual(['sample'])
  })

  it('treats a folder of disk images as one VM, disks in name order', async () => {
    const vm = await driver.describeVm({ id: 'sample-sources', name: 'sample-sources' }, ctx)
    expect(vm.disks.map((d) => [d.name, d.format, d.virtualSize])).toEqual([
      ['sample-disk1.raw', 'raw', 12 * MiB],
      ['sample-disk2.raw', 'raw', 6 * MiB],
    ])
  })

  it('says which VMs exist when asked for an unknown one', async () => {
    const e = await errorOf(driver.describeVm({ id: 'nope', name: 'nope' }, ctx))
    expect(e.code).toBe('GUTS_NOT_FOUND')
    expect(e.message).toMatch(/nope/)
  })
})

describe('files driver: OVA', () => {
  let vm: VmDescriptor
  beforeAll(async () => {
    vm = await driver.describeVm({ id: 'sample', name: 'sample' }, ctx)
  })

  it('describes the VM from its OVF', () => {
    expect(vm).toMatchObject({
      id: 'sample',
      name: 'sample',
      cpus: 2,
      memoryMiB: 2048,
      firmware: 'uefi',
      secureBoot: false,
      powerState: 'off',
      os: { family: 'linux' },
    })
    expect(vm.nics.map((n) => [n.mac, n.network])).toEqual(sample.nics.map((n) => [n.mac, n.network]))
    expect(vm.disks.map((d) => [d.id, d.index, d.format, d.virtualSize, d.controller])).toEqual([
      ['disk-0', 0, 'vmdk', 12 * MiB, 'scsi'],
      ['disk-1', 1, 'vmdk', 6 * MiB, 'scsi'],
    ])
    expect(vm.extra).toMatchObject({ source: 'ova', manifest: 'sample.mf' })
  })

  it('passes preflight and hands out in-place qemu-img paths that convert to the original data', async () => {
    expect(await driver.preflight(vm, cold, ctx)).toEqual([])
    const session = await driver.beginExport(vm, cold, ctx)
    // Plain JSON: a new process (a new driver instance) can open the disks from it.
    const revived = JSON.parse(JSON.stringify(session))
    const other = await files.create({ baseDir: dir, path: 'scan' })
    for (const [i, disk] of vm.disks.entries()) {
      const source = await other.openDisk(revived, disk.id, ctx)
      expect(source).toMatchObject({ kind: 'file', format: 'vmdk', virtualSize: disk.virtualSize })
      if (source.kind !== 'file') throw new Error('expected a file source')
      expect(source.path.startsWith('json:')).toBe(true)
      expect(await convertsTo(source, sample.disks[i]!.raw!, `ova-${i}`)).toBe(true)
      // qemu-img compare reads the member in place too.
      expect((await qemuImgCompare({ path: source.path, format: 'vmdk' }, { path: sample.disks[i]!.raw!, format: 'raw' })).same).toBe(true)
    }
    await driver.endExport(session, 'succeeded', ctx)
    await driver.endExport(session, 'succeeded', ctx) // idempotent
    await other.dispose()
  })

  it('applies plan overrides and derives stable MACs for NICs without one', async () => {
    const o = await driver.describeVm({ id: 'override', name: 'override' }, ctx)
    expect(o).toMatchObject({ cpus: 4, memoryMiB: 512, firmware: 'bios', secureBoot: false, os: { family: 'windows' } })
    expect(o.nics[1]!.mac).toBe('52:54:00:aa:bb:cc')
    expect(o.nics[0]!.mac).toMatch(/^[0-9a-f][26ae]:/)
    const again = await driver.describeVm({ id: 'override', name: 'override' }, ctx)
    expect(again.nics[0]!.mac).toBe(o.nics[0]!.mac)
    expect(o.extra?.derivedMacs).toEqual(['nic-0'])
  })

  it('reads an unpacked OVF folder from its directory', async () => {
    const u = await driver.describeVm({ id: 'unpacked', name: 'unpacked' }, ctx)
    expect(u).toMatchObject({ cpus: 2, memoryMiB: 2048, firmware: 'uefi', extra: { source: 'ovf' } })
    const session = await driver.beginExport(u, cold, ctx)
    const source = await driver.openDisk(session, 'disk-1', ctx)
    if (source.kind !== 'file') throw new Error('expected a file source')
    expect(source.path).toBe(join(dir, 'scan', 'unpacked', 'sample-disk2.vmdk'))
    expect(await convertsTo(source, sample.disks[1]!.raw!, 'ovf-1')).toBe(true)
  })

  it('refuses snapshot mode', async () => {
    expect((await driver.preflight(vm, { mode: 'snapshot', powerOff: 'refuse' }, ctx)).map((f) => f.code)).toContain(
      'live-export-unsupported',
    )
    expect((await errorOf(driver.beginExport(vm, { mode: 'snapshot', powerOff: 'refuse' }, ctx))).code).toBe('GUTS_UNSUPPORTED')
  })
})

describe('files driver: disk images', () => {
  it('detects every format and converts each back to the original bytes', async () => {
    const vm = await driver.describeVm({ id: 'all-formats', name: 'all-formats' }, ctx)
    expect(vm.disks.map((d) => d.format)).toEqual(FORMATS.map((f) => f.format))
    expect(vm.disks.every((d) => d.virtualSize === 16 * MiB)).toBe(true)
    expect(vm).toMatchObject({ cpus: 1, memoryMiB: 1024, firmware: 'bios', os: { family: 'other' }, nics: [] })
    const findings = await driver.preflight(vm, cold, ctx)
    expect(findings.map((f) => [f.severity, f.code])).toEqual([['info', 'facts-defaulted']])
    const session = await driver.beginExport(vm, cold, ctx)
    for (const disk of vm.disks) {
      const source = await driver.openDisk(session, disk.id, ctx)
      if (source.kind !== 'file') throw new Error('expected a file source')
      expect(await convertsTo(source, join(dir, 'original.raw'), disk.id)).toBe(true)
    }
    expect((await errorOf(driver.openDisk(session, 'disk-99', ctx))).code).toBe('GUTS_NOT_FOUND')
    await driver.endExport(session, 'failed', ctx)
  })

  it('uses a declared format', async () => {
    const vm = await driver.describeVm({ id: 'declared', name: 'declared' }, ctx)
    expect(vm.disks[0]).toMatchObject({ format: 'vpc', virtualSize: 16 * MiB })
  })

  it('refuses a qcow2 with a backing file', async () => {
    const e = await errorOf(driver.describeVm({ id: 'backed', name: 'backed' }, ctx))
    expect(e.code).toBe('GUTS_UNSUPPORTED')
    expect(e.message).toMatch(/backing file/)
  })

  it('refuses a VMDK descriptor whose extent is missing, naming the extent', async () => {
    const e = await errorOf(driver.describeVm({ id: 'flat-missing', name: 'flat-missing' }, ctx))
    expect(e.code).toBe('GUTS_NOT_FOUND')
    expect(e.message).toContain('flat-flat.vmdk')
  })

  it('reports a disk that disappeared after describe as a finding, and refuses to export it', async () => {
    const vm = await driver.describeVm({ id: 'vanishing', name: 'vanishing' }, ctx)
    await rm(join(dir, 'vanishing.qcow2'))
    const findings = await driver.preflight(vm, cold, ctx)
    expect(findings.filter((f) => f.severity === 'error').map((f) => f.code)).toEqual(['disk-missing'])
    expect((await errorOf(driver.beginExport(vm, cold, ctx))).code).toBe('GUTS_NOT_FOUND')
  })
})
