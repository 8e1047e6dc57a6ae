import assert from 'node:assert/strict'
import type { DiskDescriptor, VmDescriptor, VmRef } from '../model.js'
import { DISK_FORMATS } from '../model.js'
import type { DiskSource, SourceCapabilities, SourceDriver, ExportSession } from '../source.js'
import type { DriverContext } from '../context.js'
import { jsonRoundTrip, MAC } from './checks.js'
import { measure, sourceLocation, stageSource } from './disk-io.js'
import { imageVirtualSize } from './qemu.js'

/** Checks on what a source driver returns: descriptors, disks and changed extents. */

/** A descriptor the core can plan with: sane sizes, unique disk ids and indexes, valid MACs. */
export function checkVmDescriptor(vm: VmDescriptor, ref: VmRef): void {
  jsonRoundTrip(vm, 'describeVm result')
  assert.equal(vm.id, ref.id, 'describeVm must return the VM it was asked for (id)')
  assert.ok(Number.isInteger(vm.cpus) && vm.cpus >= 1, `cpus must be an integer ≥ 1, got ${vm.cpus}`)
  assert.ok(typeof vm.memoryMiB === 'number' && vm.memoryMiB > 0, `memoryMiB must be > 0, got ${vm.memoryMiB}`)
  assert.ok(vm.firmware === 'bios' || vm.firmware === 'uefi', `firmware must be bios or uefi, got ${String(vm.firmware)}`)
  assert.ok(Array.isArray(vm.disks) && vm.disks.length > 0, 'a VM must have at least one disk')
  for (const disk of vm.disks) {
    assert.ok(Number.isInteger(disk.virtualSize) && disk.virtualSize > 0, `disk ${disk.id}: virtualSize must be a positive integer`)
    assert.ok(DISK_FORMATS.includes(disk.format), `disk ${disk.id}: format "${String(disk.format)}" is not a qemu-img format`)
  }
  const ids = vm.disks.map((d) => d.id)
  assert.equal(new Set(ids).size, ids.length, `disk ids must be unique: ${ids.join(', ')}`)
  const indexes = vm.disks.map((d) => d.index)
  assert.equal(new Set(indexes).size, indexes.length, `disk indexes must be unique: ${indexes.join(', ')}`)
  assert.ok(Array.isArray(vm.nics), 'nics must be an array (possibly empty)')
  for (const nic of vm.nics) assert.match(nic.mac, MAC, `NIC ${nic.id}: MAC "${nic.mac}" must be lower-case aa:bb:cc:dd:ee:ff`)
}

/**
 * Opens one disk and checks it holds exactly `disk.virtualSize` bytes of guest content:
 * a raw stream is counted; anything else is measured by `qemu-img info` (staged first when it
 * is a stream of another format).
 */
export async function checkDiskDelivery(
  driver: SourceDriver,
  session: ExportSession,
  disk: DiskDescriptor,
  ctx: DriverContext,
): Promise<void> {
  const source = await driver.openDisk(session, disk.id, ctx)
  try {
    checkDiskSource(source, disk, driver.capabilities)
    if (source.kind === 'stream' && source.format === 'raw') {
      const { bytes } = await measure(await source.open(ctx.signal), undefined, ctx.signal)
      assert.equal(bytes, disk.virtualSize, `disk ${disk.id}: the stream delivered ${bytes} bytes, virtualSize is ${disk.virtualSize}`)
      return
    }
    const location = source.kind === 'stream' ? await stageSource(source, ctx.workDir, ctx.signal) : (sourceLocation(source) as string)
    const size = await imageVirtualSize(location, source.format)
    assert.equal(size, disk.virtualSize, `disk ${disk.id}: qemu-img sees ${size} bytes, virtualSize is ${disk.virtualSize}`)
  } finally {
    await source.close?.()
  }
}

/** The DiskSource itself: a declared kind, a known format, the disk's size. */
export function checkDiskSource(source: DiskSource, disk: DiskDescriptor, caps: SourceCapabilities): void {
  assert.ok(
    caps.diskAccess.includes(source.kind),
    `openDisk returned kind "${source.kind}", not in capabilities.diskAccess [${caps.diskAccess.join(', ')}]`,
  )
  assert.ok(DISK_FORMATS.includes(source.format), `openDisk returned format "${String(source.format)}"`)
  assert.equal(source.virtualSize, disk.virtualSize, `disk ${disk.id}: DiskSource.virtualSize differs from the descriptor`)
  if (source.kind === 'stream') assert.equal(typeof source.open, 'function', 'a stream DiskSource needs open(signal)')
}

/** Changed extents: sorted, non-overlapping, positive lengths, inside the disk. */
export async function checkChangedExtents(
  driver: SourceDriver,
  session: ExportSession,
  disk: DiskDescriptor,
  ctx: DriverContext,
): Promise<void> {
  assert.equal(typeof driver.changedExtents, 'function', 'capabilities.changedBlocks is true, so changedExtents must be implemented')
  // '*' is the conventional "since the beginning" change id (as VMware's queryChangedDiskAreas).
  const iterable = (driver.changedExtents as NonNullable<SourceDriver['changedExtents']>)(session, disk.id, '*', ctx)
  let end = 0
  for await (const extent of iterable) {
    const { offset, length } = extent
    assert.ok(Number.isInteger(offset) && offset >= 0, `extent offset ${offset} must be a non-negative integer`)
    assert.ok(Number.isInteger(length) && length > 0, `extent length ${length} must be a positive integer`)
    assert.ok(offset >= end, `extents must be sorted and non-overlapping: ${offset} starts before ${end}`)
    end = offset + length
    assert.ok(end <= disk.virtualSize, `extent ${offset}+${length} goes past the disk end ${disk.virtualSize}`)
  }
}
