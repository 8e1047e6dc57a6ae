import {
  GutsError,
  sourceCapabilities,
  throwIfAborted,
  type DiskSource,
  type DriverContext,
  type ExportOptions,
  type ExportSession,
  type Extent,
  type Finding,
  type Outcome,
  type PowerOffOptions,
  type SourceDriver,
  type VmDescriptor,
  type VmQuery,
  type VmRef,
  type VmSummary,
} from '@guts/sdk'
import { resolveConfig, type VimConfig, type VmwareOptions } from './client/config.js'
import { VimSession } from './client/session.js'
import { describeVm } from './describe.js'
import { listVms } from './inventory.js'
import { powerOffVm, powerOnVm } from './power.js'
import { preflightFindings } from './preflight.js'
import { changedAreas } from './export/changed.js'
import { asJson, beginColdExport, coldData, endColdExport, leaseDiskSource } from './export/cold.js'
import { assertLeaseUsable, keepLeaseAlive } from './export/lease.js'
import { releaseLeftovers } from './export/leftovers.js'
import {
  beginSnapshotExport,
  endSnapshotExport,
  leaseRef,
  snapshotData,
  snapshotJson,
  snapshotRef,
  type SnapshotData,
} from './export/snapshot.js'
import { snapshotDiskSource } from './export/snapshot-disk.js'

/**
 * Cold export of powered-off VMs, live export of running ones through a snapshot, changed block
 * tracking for warm migration, and power control. Disks are streams (NFC), with random access
 * (`readRange`) on snapshot disks that are flat files.
 */
export const VMWARE_CAPABILITIES = sourceCapabilities({ liveExport: true, changedBlocks: true, powerControl: true, diskAccess: ['stream'] })

/** vCenter or ESXi as a migration source, over one vim25 session per driver instance. */
export class VmwareSource implements SourceDriver {
  readonly name = 'vmware'
  readonly apiVersion = 1 as const
  readonly capabilities = VMWARE_CAPABILITIES
  private session: VimSession | undefined
  private config: VimConfig | undefined
  /** Lease keep-alive timers by lease id. */
  private readonly keepAlive = new Map<string, () => void>()

  constructor(private readonly options: VmwareOptions) {}

  /** Resolves options + GOVC_* and logs in (idempotent). Bad settings → GUTS_CONFIG_INVALID. */
  async connect(ctx: DriverContext): Promise<void> {
    throwIfAborted(ctx.signal)
    await this.sessionFor(ctx).connect(ctx.signal)
  }

  private sessionFor(ctx: DriverContext): VimSession {
    this.config ??= resolveConfig(this.options)
    this.session ??= new VimSession(this.config, ctx.log)
    return this.session
  }

  private async connected(ctx: DriverContext): Promise<VimSession> {
    const s = this.sessionFor(ctx)
    await s.connect(ctx.signal)
    return s
  }

  /** For cleanup (endExport, releaseLeftovers): the run's signal may have fired, cleanup must still run. */
  private async sessionConnected(ctx: DriverContext): Promise<VimSession> {
    const s = this.sessionFor(ctx)
    await s.connect()
    return s
  }

  async *listVms(query: VmQuery, ctx: DriverContext): AsyncIterable<VmSummary> {
    const s = await this.connected(ctx)
    yield* listVms(s, query, { ...(this.config?.datacenter ? { datacenter: this.config.datacenter } : {}), signal: ctx.signal })
  }

  async describeVm(vm: VmRef, ctx: DriverContext): Promise<VmDescriptor> {
    return describeVm(await this.connected(ctx), vm, ctx.signal)
  }

  async preflight(vm: VmDescriptor, options: ExportOptions, ctx: DriverContext): Promise<Finding[]> {
    throwIfAborted(ctx.signal)
    return preflightFindings(vm, options)
  }

  /** Shutdown through the guest with a timeout, or force; an already powered-off VM is fine. */
  async powerOff(vm: VmRef, options: PowerOffOptions, ctx: DriverContext): Promise<void> {
    await powerOffVm(vm, options, { caller: await this.connected(ctx), log: ctx.log, signal: ctx.signal })
  }

  async powerOn(vm: VmRef, ctx: DriverContext): Promise<void> {
    await powerOnVm(vm, { caller: await this.connected(ctx), log: ctx.log, signal: ctx.signal })
  }

  /**
   * Cold: ExportVm of a powered-off VM. Snapshot: a marked snapshot of the (running or stopped)
   * VM and ExportSnapshot. Either way the NFC lease is kept alive until endExport.
   */
  async beginExport(vm: VmDescriptor, options: ExportOptions, ctx: DriverContext): Promise<ExportSession> {
    const s = await this.connected(ctx)
    const ref = { id: vm.id, name: vm.name }
    if (options.mode === 'snapshot') {
      const { data, changeIds, stop } = await beginSnapshotExport(s, vm, options, ctx.log, ctx.signal, {
        quiesce: this.options.quiesce === true,
      })
      this.keepAlive.set(data.lease, stop)
      return { vm: ref, mode: 'snapshot', data: snapshotJson(data), ...(changeIds ? { changeIds } : {}) }
    }
    if (options.changeTracking) {
      throw new GutsError(
        'GUTS_UNSUPPORTED',
        `${vm.name}: changed block tracking needs a snapshot export (mode: snapshot); a cold export has no change ids.`,
      )
    }
    const { data, stop } = await beginColdExport(s, vm, options, ctx.log, ctx.signal)
    this.keepAlive.set(data.lease, stop)
    return { vm: ref, mode: options.mode, data: asJson(data) }
  }

  async openDisk(session: ExportSession, diskId: string, ctx: DriverContext): Promise<DiskSource> {
    throwIfAborted(ctx.signal)
    const s = await this.connected(ctx)
    const data = session.mode === 'snapshot' ? snapshotData(session) : coldData(session)
    if (!data.disks[diskId])
      throw new GutsError('GUTS_NOT_FOUND', `Disk ${diskId} of ${session.vm.name} is not in the export.`, {
        ref: `${session.vm.name} disk ${diskId}`,
      })
    await assertLeaseUsable(s, leaseRef(data), session.vm.name, ctx.signal)
    // Another process may open a disk of a lease begun elsewhere: keep it alive from here too.
    if (!this.keepAlive.has(data.lease)) {
      this.keepAlive.set(
        data.lease,
        keepLeaseAlive(s, leaseRef(data), (e) => ctx.log.warn('vSphere lease keep-alive failed', { error: (e as Error).message })),
      )
    }
    if (session.mode === 'snapshot') return snapshotDiskSource(s, data as SnapshotData, diskId, session.vm.name, ctx.log, ctx.signal)
    return leaseDiskSource(s, data, diskId, session.vm.name)
  }

  /**
   * Changed areas of a snapshot session's disk since `since` (QueryChangedDiskAreas). A disk whose
   * snapshot has no change id (CBT was off) has no allocation map: for `*` the whole disk is the
   * honest answer; for a real change id there is nothing to compare with.
   */
  async *changedExtents(session: ExportSession, diskId: string, since: string, ctx: DriverContext): AsyncIterable<Extent> {
    throwIfAborted(ctx.signal)
    if (session.mode !== 'snapshot')
      throw new GutsError('GUTS_UNSUPPORTED', `Changed blocks need a snapshot export session; ${session.vm.name}'s is ${session.mode}.`)
    const data = snapshotData(session)
    const disk = data.disks[diskId]
    const what = `${session.vm.name} disk ${diskId}`
    if (!disk) throw new GutsError('GUTS_NOT_FOUND', `Disk ${diskId} of ${session.vm.name} is not in the export.`, { ref: what })
    if (!disk.changeId) {
      if (since === '*') {
        if (disk.virtualSize > 0) yield { offset: 0, length: disk.virtualSize }
        return
      }
      throw new GutsError(
        'GUTS_CONFLICT',
        `Change tracking is not active on ${what} (its snapshot has no change id): the changes since "${since}" are unknown and a new full sync is needed.`,
        {
          details: { changeTrackingReset: true },
        },
      )
    }
    const s = await this.connected(ctx)
    yield* changedAreas(s, {
      vm: { type: 'VirtualMachine', value: data.vm },
      snapshot: snapshotRef(data),
      deviceKey: disk.deviceKey,
      capacity: disk.virtualSize,
      since,
      what,
      signal: ctx.signal,
    })
  }

  /** Completes or aborts the lease; a snapshot session's snapshot is removed whatever the outcome. */
  async endExport(session: ExportSession, outcome: Outcome, ctx: DriverContext): Promise<void> {
    const data = session.mode === 'snapshot' ? snapshotData(session) : coldData(session)
    this.keepAlive.get(data.lease)?.()
    this.keepAlive.delete(data.lease)
    const s = await this.sessionConnected(ctx)
    if (session.mode === 'snapshot') await endSnapshotExport(s, snapshotData(session), outcome === 'succeeded')
    else await endColdExport(s, coldData(session), outcome === 'succeeded')
  }

  /**
   * Removes the VM's snapshots whose description carries all `marks` (left by a crashed export).
   * Cleanup: runs to the end even when the run was aborted, so without the signal.
   */
  async releaseLeftovers(vm: VmRef, marks: Readonly<Record<string, string>>, ctx: DriverContext): Promise<number> {
    return releaseLeftovers(await this.sessionConnected(ctx), vm.id, marks, ctx.log)
  }

  async dispose(): Promise<void> {
    for (const stop of this.keepAlive.values()) stop()
    this.keepAlive.clear()
    const s = this.session
    this.session = undefined
    await s?.close()
  }
}
