import { copyFileSync, createReadStream, existsSync, openSync, rmSync, writeSync, closeSync, ftruncateSync } from 'node:fs'
import { join } from 'node:path'
import { GutsError, sourceCapabilities, throwIfAborted, type DiskSource, type ExportOptions, type ExportSession, type Extent, type PowerOffOptions, type SourceDriver, type VmDescriptor, type VmRef } from '@guts/sdk'

const BLOCK = 64 * 1024

/**
 * A source with the capabilities a warm migration needs, over raw files the test writes into
 * ("guest writes"): snapshots freeze a copy of each disk, change ids are write generations and
 * `changedExtents` answers the 64 KiB blocks written since one, like CBT. Records what the core
 * asked for (power-offs, open snapshots) so tests can check the sequence.
 */
export class WarmSource implements SourceDriver {
  readonly name = 'warm-src'
  readonly apiVersion = 1 as const
  readonly capabilities = sourceCapabilities({ liveExport: true, changedBlocks: true, powerControl: true, diskAccess: ['stream'] })
  powerState: 'on' | 'off' = 'on'
  readonly powerOffs: PowerOffOptions[] = []
  readonly snapshots = new Set<string>()
  /** Per disk: the generation each block was last written in. */
  private readonly written: Map<number, number>[]
  private generation = 1
  private snapshotCount = 0

  constructor(
    readonly dir: string,
    readonly vm: VmRef,
    readonly diskSizes: number[],
    readonly opts: { randomAccess: boolean } = { randomAccess: true },
  ) {
    this.written = diskSizes.map(() => new Map())
    diskSizes.forEach((size, i) => {
      const fd = openSync(this.diskPath(i), 'w')
      ftruncateSync(fd, size)
      closeSync(fd)
    })
  }

  diskPath(i: number): string {
    return join(this.dir, `disk-${i}.raw`)
  }

  /** A guest write: bytes at an offset of disk `i`, tracked per 64 KiB block. */
  write(i: number, offset: number, data: Buffer): void {
    if (this.powerState === 'off') throw new Error('the VM is off: no guest writes')
    const fd = openSync(this.diskPath(i), 'r+')
    writeSync(fd, data, 0, data.length, offset)
    closeSync(fd)
    for (let b = Math.floor(offset / BLOCK); b * BLOCK < offset + data.length; b++) this.written[i]!.set(b, this.generation)
  }

  async connect(): Promise<void> {}
  async *listVms() {
    yield { ...this.vm, powerState: this.powerState }
  }

  async describeVm(ref: VmRef): Promise<VmDescriptor> {
    if (ref.id !== this.vm.id && ref.name !== this.vm.name) throw new GutsError('GUTS_NOT_FOUND', `no VM ${ref.name}`)
    return {
      ...this.vm, powerState: this.powerState, cpus: 1, memoryMiB: 512, firmware: 'bios', secureBoot: false, os: { family: 'linux' },
      disks: this.diskSizes.map((virtualSize, index) => ({ id: `disk-${index}`, index, virtualSize, format: 'raw' })),
      nics: [],
    }
  }

  async preflight() {
    return []
  }

  async beginExport(vm: VmDescriptor, options: ExportOptions): Promise<ExportSession> {
    const snap = `snap-${++this.snapshotCount}`
    this.snapshots.add(snap)
    const gen = this.generation++
    this.diskSizes.forEach((_, i) => copyFileSync(this.diskPath(i), this.snapPath(snap, i)))
    return {
      vm: { id: vm.id, name: vm.name }, mode: options.mode, data: { snap, gen },
      ...(options.changeTracking ? { changeIds: Object.fromEntries(this.diskSizes.map((_, i) => [`disk-${i}`, `gen-${gen}`])) } : {}),
    }
  }

  async openDisk(session: ExportSession, diskId: string): Promise<DiskSource> {
    const i = Number(diskId.replace('disk-', ''))
    const path = this.snapPath(String(session.data.snap), i)
    if (!existsSync(path)) throw new GutsError('GUTS_NOT_FOUND', `snapshot ${String(session.data.snap)} is gone`)
    const open = async (signal: AbortSignal) => {
      throwIfAborted(signal)
      return createReadStream(path)
    }
    return {
      kind: 'stream', format: 'raw', virtualSize: this.diskSizes[i]!, open,
      ...(this.opts.randomAccess ? { readRange: async (offset: number, length: number) => createReadStream(path, { start: offset, end: offset + length - 1 }) } : {}),
    }
  }

  async *changedExtents(session: ExportSession, diskId: string, since: string): AsyncIterable<Extent> {
    const i = Number(diskId.replace('disk-', ''))
    const from = Number(since.replace('gen-', ''))
    const upTo = Number(session.data.gen)
    const blocks = [...this.written[i]!.entries()].filter(([, g]) => g > from && g <= upTo).map(([b]) => b).sort((a, b) => a - b)
    for (const b of blocks) yield { offset: b * BLOCK, length: Math.min(BLOCK, this.diskSizes[i]! - b * BLOCK) }
  }

  async powerOff(_vm: VmRef, options: PowerOffOptions): Promise<void> {
    this.powerOffs.push(options)
    this.powerState = 'off'
  }

  async endExport(session: ExportSession): Promise<void> {
    const snap = String(session.data.snap)
    this.snapshots.delete(snap)
    this.diskSizes.forEach((_, i) => rmSync(this.snapPath(snap, i), { force: true }))
  }

  async dispose(): Promise<void> {}

  private snapPath(snap: string, i: number): string {
    return join(this.dir, `${snap}-disk-${i}.raw`)
  }
}
