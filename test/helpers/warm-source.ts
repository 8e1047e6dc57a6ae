import { copyFileSync, createReadStream, existsSync, openSync, rmSync, writeSync, closeSync, ftruncateSync } from 'node:fs'
import { join } from 'node:path'
import {
  GutsError,
  sourceCapabilities,
  throwIfAborted,
  type DiskSource,
  type ExportOptions,
  type ExportSession,
  type Extent,
  type LeftoverRelease,
  type PowerOffOptions,
  type SourceDriver,
  type VmDescriptor,
  type VmRef,
} from '@guts/sdk'

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
  readonly powerState = new Map<string, 'on' | 'off'>()
  readonly powerOffs: PowerOffOptions[] = []
  readonly snapshots = new Set<string>()
  /** Full syncs started, in order (VM names). */
  readonly fullSyncs: string[] = []
  /** Per export begun: whether the core said it was the last sync. */
  readonly finalSyncFlags: boolean[] = []
  /** What releaseLeftovers was asked to release beyond the marks (rollback, cleanup). */
  readonly released: (LeftoverRelease | undefined)[] = []
  /** Per VM and disk: the generation each block was last written in. */
  private readonly written = new Map<string, Map<number, number>>()
  private generation = 1
  private snapshotCount = 0
  readonly vm: VmRef

  constructor(
    readonly dir: string,
    readonly vms: VmRef | VmRef[],
    readonly diskSizes: number[],
    readonly opts: { randomAccess: boolean } = { randomAccess: true },
  ) {
    const all = Array.isArray(vms) ? vms : [vms]
    this.vm = all[0]!
    for (const vm of all) {
      this.powerState.set(vm.id, 'on')
      diskSizes.forEach((size, i) => {
        this.written.set(`${vm.id}/${i}`, new Map())
        const fd = openSync(this.diskPath(i, vm.id), 'w')
        ftruncateSync(fd, size)
        closeSync(fd)
      })
    }
  }

  private get all(): VmRef[] {
    return Array.isArray(this.vms) ? this.vms : [this.vms]
  }

  diskPath(i: number, vmId = this.vm.id): string {
    return join(this.dir, `${vmId}-disk-${i}.raw`)
  }

  /** A guest write: bytes at an offset of disk `i`, tracked per 64 KiB block. */
  write(i: number, offset: number, data: Buffer, vmId = this.vm.id): void {
    if (this.powerState.get(vmId) === 'off') throw new Error('the VM is off: no guest writes')
    const fd = openSync(this.diskPath(i, vmId), 'r+')
    writeSync(fd, data, 0, data.length, offset)
    closeSync(fd)
    for (let b = Math.floor(offset / BLOCK); b * BLOCK < offset + data.length; b++)
      this.written.get(`${vmId}/${i}`)!.set(b, this.generation)
  }

  async connect(): Promise<void> {}
  async *listVms() {
    for (const vm of this.all) yield { ...vm, powerState: this.powerState.get(vm.id)! }
  }

  async describeVm(ref: VmRef): Promise<VmDescriptor> {
    const vm = this.all.find((v) => v.id === ref.id || v.name === ref.name)
    if (!vm) throw new GutsError('GUTS_NOT_FOUND', `no VM ${ref.name}`)
    return {
      ...vm,
      powerState: this.powerState.get(vm.id)!,
      cpus: 1,
      memoryMiB: 512,
      firmware: 'bios',
      secureBoot: false,
      os: { family: 'linux' },
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
    if (!this.fullSyncs.includes(vm.name)) this.fullSyncs.push(vm.name)
    this.finalSyncFlags.push(options.finalSync === true)
    const gen = this.generation++
    this.diskSizes.forEach((_, i) => copyFileSync(this.diskPath(i, vm.id), this.snapPath(snap, i)))
    return {
      vm: { id: vm.id, name: vm.name },
      mode: options.mode,
      data: { snap, gen },
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
      kind: 'stream',
      format: 'raw',
      virtualSize: this.diskSizes[i]!,
      open,
      ...(this.opts.randomAccess
        ? { readRange: async (offset: number, length: number) => createReadStream(path, { start: offset, end: offset + length - 1 }) }
        : {}),
    }
  }

  /** Set to make the next changedExtents call answer "tracking was reset" (as a CBT reset does). */
  resetNext = false

  async *changedExtents(session: ExportSession, diskId: string, since: string): AsyncIterable<Extent> {
    if (this.resetNext) {
      this.resetNext = false
      throw new GutsError('GUTS_CONFLICT', `change id ${since} is no longer valid`, { details: { changeTrackingReset: true } })
    }
    const i = Number(diskId.replace('disk-', ''))
    const from = Number(since.replace('gen-', ''))
    const upTo = Number(session.data.gen)
    const blocks = [...this.written.get(`${session.vm.id}/${i}`)!.entries()]
      .filter(([, g]) => g > from && g <= upTo)
      .map(([b]) => b)
      .sort((a, b) => a - b)
    for (const b of blocks) yield { offset: b * BLOCK, length: Math.min(BLOCK, this.diskSizes[i]! - b * BLOCK) }
  }

  readonly powerOns: string[] = []

  async powerOn(vm: VmRef): Promise<void> {
    this.powerOns.push(vm.name)
    this.powerState.set(vm.id, 'on')
  }

  async powerOff(vm: VmRef, options: PowerOffOptions): Promise<void> {
    this.powerOffs.push(options)
    this.powerState.set(vm.id, 'off')
  }

  async endExport(session: ExportSession): Promise<void> {
    const snap = String(session.data.snap)
    this.snapshots.delete(snap)
    this.diskSizes.forEach((_, i) => rmSync(this.snapPath(snap, i), { force: true }))
  }

  async releaseLeftovers(_vm: VmRef, _marks: Readonly<Record<string, string>>, _ctx: unknown, release?: LeftoverRelease): Promise<number> {
    this.released.push(release)
    return 0
  }

  async dispose(): Promise<void> {}

  private snapPath(snap: string, i: number): string {
    return join(this.dir, `${snap}-disk-${i}.raw`)
  }
}
