import {
  sourceCapabilities,
  throwIfAborted,
  type DiskSource,
  type DriverContext,
  type ExportOptions,
  type ExportSession,
  type Extent,
  type Finding,
  type LeftoverRelease,
  type Outcome,
  type PowerOffOptions,
  type SourceDriver,
  type VmDescriptor,
  type VmQuery,
  type VmRef,
  type VmSummary,
} from '@guts/sdk'
import { resolveConfig, type HypervConfig } from './config.js'
import { describeVm, listVms } from './inventory.js'
import type { HypervOptions } from './options.js'
import { powerOffVm, powerOnVm } from './power.js'
import { preflightFindings } from './preflight.js'
import { beginCheckpoint, beginCold } from './export/begin.js'
import { diskSource } from './export/disk.js'
import { endCheckpoint, releaseCheckpoints } from './export/checkpoints.js'
import { sessionData, sessionDisk, sessionJson } from './export/session.js'
import { beginWarm, endWarm, rctChanges, releaseReferencePoints } from './export/warm.js'
import { allocatedExtents } from './export/allocated.js'
import { PowerShellRunner } from './transport/powershell.js'
import { SshConnection } from './transport/ssh-connection.js'

/**
 * Cold export of VMs that are off, live export of running ones through a checkpoint, warm
 * migration through Resilient Change Tracking (recovery snapshots, reference points,
 * QueryChangesVirtualDisk), and power control. Disks are raw streams decoded from the VHDX/VHD
 * files over SFTP, with random access (delta syncs read only the changed ranges).
 */
export const HYPERV_CAPABILITIES = sourceCapabilities({
  liveExport: true,
  changedBlocks: true,
  powerControl: true,
  diskAccess: ['stream'],
})

/** A standalone Hyper-V host as a migration source, over one SSH connection per driver instance. */
export class HypervSource implements SourceDriver {
  readonly name = 'hyperv'
  readonly apiVersion = 1 as const
  readonly capabilities = HYPERV_CAPABILITIES
  private config: HypervConfig | undefined
  private ssh: SshConnection | undefined
  private ps: PowerShellRunner | undefined
  /** RCT ids each open sync asked changes since (by recovery snapshot id): its reference points go when it ends. */
  private readonly syncedSince = new Map<string, Set<string>>()

  constructor(private readonly options: HypervOptions) {}

  /** Connects over SSH (host key checked first) and asks the host who it is. Idempotent. */
  async connect(ctx: DriverContext): Promise<void> {
    throwIfAborted(ctx.signal)
    await this.transport(ctx).ssh.connect(ctx.signal)
  }

  private transport(ctx: DriverContext): { ssh: SshConnection; ps: PowerShellRunner; host: string; config: HypervConfig } {
    this.config ??= resolveConfig(this.options)
    this.ssh ??= new SshConnection(this.config.ssh, ctx.log)
    this.ps ??= new PowerShellRunner(this.ssh, this.config.ssh.host, ctx.log)
    return { ssh: this.ssh, ps: this.ps, host: this.config.ssh.host, config: this.config }
  }

  async *listVms(query: VmQuery, ctx: DriverContext): AsyncIterable<VmSummary> {
    const t = this.transport(ctx)
    yield* await listVms(query, { ps: t.ps, host: t.host, signal: ctx.signal })
  }

  async describeVm(vm: VmRef, ctx: DriverContext): Promise<VmDescriptor> {
    const t = this.transport(ctx)
    return describeVm(vm, { ps: t.ps, host: t.host, signal: ctx.signal })
  }

  async preflight(vm: VmDescriptor, options: ExportOptions, ctx: DriverContext): Promise<Finding[]> {
    throwIfAborted(ctx.signal)
    return preflightFindings(vm, options)
  }

  async powerOff(vm: VmRef, options: PowerOffOptions, ctx: DriverContext): Promise<void> {
    const t = this.transport(ctx)
    await powerOffVm(vm, options, { ps: t.ps, host: t.host, log: ctx.log, signal: ctx.signal })
  }

  async powerOn(vm: VmRef, ctx: DriverContext): Promise<void> {
    const t = this.transport(ctx)
    await powerOnVm(vm, { ps: t.ps, host: t.host, log: ctx.log, signal: ctx.signal })
  }

  /**
   * Cold: the files of a VM that is off. Snapshot: a marked checkpoint and the files it froze.
   * Warm (change tracking): a marked recovery snapshot, and each disk's RCT id sealed by it.
   */
  async beginExport(vm: VmDescriptor, options: ExportOptions, ctx: DriverContext): Promise<ExportSession> {
    const t = this.transport(ctx)
    const deps = { ps: t.ps, host: vm.host ?? t.host, log: ctx.log, signal: ctx.signal }
    const ref = { id: vm.id, name: vm.name }
    if (options.changeTracking) {
      const w = await beginWarm(vm, options, deps)
      return { vm: ref, mode: options.mode, data: sessionJson(w.data), changeIds: w.changeIds }
    }
    const data = options.mode === 'snapshot' ? await beginCheckpoint(vm, options, deps) : await beginCold(vm, deps)
    return { vm: ref, mode: options.mode, data: sessionJson(data) }
  }

  async openDisk(session: ExportSession, diskId: string, ctx: DriverContext): Promise<DiskSource> {
    throwIfAborted(ctx.signal)
    const t = this.transport(ctx)
    const { data, disk, what } = sessionDisk(session, diskId)
    return diskSource(disk, what, {
      ssh: t.ssh,
      host: data.host,
      log: ctx.log,
      readConcurrency: t.config.readConcurrency,
      signal: ctx.signal,
    })
  }

  /**
   * Extents of the session's disk changed since `since`: for `*` what its files allocate (the VHDX
   * block table), otherwise what RCT recorded between that id and the freeze of this sync.
   */
  async *changedExtents(session: ExportSession, diskId: string, since: string, ctx: DriverContext): AsyncIterable<Extent> {
    throwIfAborted(ctx.signal)
    const t = this.transport(ctx)
    const { data, disk, what } = sessionDisk(session, diskId)
    if (since === '*') {
      yield* await allocatedExtents(disk, { ssh: t.ssh, host: data.host, signal: ctx.signal })
      return
    }
    if (data.checkpoint?.recovery) this.sinceSet(data.checkpoint.id).add(since)
    yield* await rctChanges(session.vm, disk.chain[0]!, disk.virtualSize, since, what, { ps: t.ps, host: data.host, signal: ctx.signal })
  }

  /**
   * A live export's checkpoint is removed (merged) whatever the outcome. A warm sync's recovery
   * snapshot becomes a reference point when the sync succeeded and another may follow; the
   * reference points it started from go then, and on failure those holding its own ids (a
   * conversion that happened before the process died). Cleanup runs even after an abort.
   */
  async endExport(session: ExportSession, outcome: Outcome, ctx: DriverContext): Promise<void> {
    const data = sessionData(session)
    if (!data.checkpoint) return
    const t = this.transport(ctx)
    const deps = { ps: t.ps, host: data.host, log: ctx.log }
    if (!data.checkpoint.recovery) return endCheckpoint(session.vm, data.checkpoint, deps)
    const ok = outcome === 'succeeded'
    const sealed = Object.values(session.changeIds ?? {})
    const release = ok ? [...(this.syncedSince.get(data.checkpoint.id) ?? [])] : sealed
    await endWarm(session.vm, data.checkpoint, { convert: ok && !data.checkpoint.finalSync, release, sealed }, deps)
    this.syncedSince.delete(data.checkpoint.id)
  }

  /**
   * Removes the VM's checkpoints an export of this migration left (they bear its name), and on
   * rollback or cleanup the reference points holding the migration's last RCT ids.
   */
  async releaseLeftovers(
    vm: VmRef,
    marks: Readonly<Record<string, string>>,
    ctx: DriverContext,
    release?: LeftoverRelease,
  ): Promise<number> {
    const t = this.transport(ctx)
    const deps = { ps: t.ps, host: t.host, log: ctx.log }
    const removed = await releaseCheckpoints(vm, marks, deps)
    const ids = Object.values(release?.changeIds ?? {})
    return removed + (marks['guts-migration'] && ids.length ? await releaseReferencePoints(vm, ids, deps) : 0)
  }

  private sinceSet(checkpointId: string): Set<string> {
    let set = this.syncedSince.get(checkpointId)
    if (!set) this.syncedSince.set(checkpointId, (set = new Set()))
    return set
  }

  async dispose(): Promise<void> {
    const ssh = this.ssh
    this.ssh = undefined
    this.ps = undefined
    await ssh?.close()
  }
}
