import { GutsError, isGutsError, type ExportOptions, type ExportSession, type JsonObject, type Logger, type VmDescriptor } from '@guts/sdk'
import { retrieve, type Caller } from '../client/property-collector.js'
import { runTask } from '../client/tasks.js'
import { isMoref, mustMoref, type Moref, type XmlValue } from '../client/xml.js'
import { datacenterPath } from '../datacenter.js'
import { devicesOf, diskFacts } from '../devices.js'
import { keepLeaseAlive, leaseDisks, releaseLease, waitLeaseReady, type LeaseDisk } from './lease.js'
import { releaseLeftovers, removeSnapshot, snapshotDescription, snapshotName } from './leftovers.js'

/** One disk of a snapshot export, as the session keeps it. */
export interface SnapshotDisk extends LeaseDisk {
  virtualSize: number
  /** The VirtualDisk key: QueryChangedDiskAreas names disks by it. */
  deviceKey: number
  /** The snapshot's (frozen) disk: `[datastore] vm/disk.vmdk`, read for random access. */
  fileName?: string
  changeId?: string
}

/**
 * What a snapshot export keeps: plain JSON, so that another process (after a crash) can open the
 * disks, query changed areas and release everything from it alone.
 */
export interface SnapshotData {
  vm: string
  snapshot: string
  lease: string
  /** The datacenter's inventory path, for datastore HTTP (`dcPath`). */
  datacenter: string
  disks: Record<string, SnapshotDisk>
}

/** A vim25 session (VimSession), or a fake in unit tests: calls, and the endpoint for `*` lease hosts. */
export type SnapshotCaller = Caller & { readonly transport: { readonly endpoint: URL } }

export const snapshotRef = (d: SnapshotData): Moref => ({ type: 'VirtualMachineSnapshot', value: d.snapshot })
export const leaseRef = (d: { lease: string }): Moref => ({ type: 'HttpNfcLease', value: d.lease })

/**
 * Live export: a snapshot (no memory; crash-consistent, as a power cut would leave the disks,
 * unless the `quiesce` option asks VMware Tools for an application-consistent one) freezes the disks while the VM runs on, and ExportSnapshot serves the frozen disks
 * over an NFC lease like a cold export. Leftovers of a crashed earlier attempt (same marks) go
 * first; with changeTracking, CBT is turned on before the snapshot so that the snapshot's disks
 * carry change ids. Anything failing after the snapshot exists releases the lease and the snapshot.
 */
export async function beginSnapshotExport(
  session: SnapshotCaller,
  vm: VmDescriptor,
  options: ExportOptions,
  log: Logger,
  signal: AbortSignal,
  o: { quiesce?: boolean } = {},
): Promise<{ data: SnapshotData; changeIds?: Record<string, string>; stop: () => void }> {
  const ref: Moref = { type: 'VirtualMachine', value: vm.id }
  const marks = options.marks ?? {}
  const released = await releaseLeftovers(session, vm.id, marks, log, signal)
  if (released) log.info(`removed ${released} leftover export snapshot(s) of ${vm.name}`, { vm: vm.id })
  if (options.changeTracking) await enableChangeTracking(session, ref, vm.name, log, signal)
  const quiesce = o.quiesce === true
  const created = await runTask(
    session,
    'CreateSnapshot_Task',
    { _this: ref, name: snapshotName(marks), description: snapshotDescription(marks), memory: false, quiesce },
    { signal },
  ).catch((error: unknown) => {
    if (!quiesce || !isGutsError(error) || error.code === 'GUTS_ABORTED') throw error
    throw new GutsError(
      error.code,
      `${vm.name}: the quiesced snapshot failed (${error.message}). Quiescing needs VMware Tools running in the guest; set quiesce: false for a crash-consistent snapshot.`,
      { cause: error, ...(error.details ? { details: error.details } : {}) },
    )
  })
  if (!isMoref(created)) throw new GutsError('GUTS_DRIVER_ERROR', `vSphere CreateSnapshot_Task of ${vm.name} returned no snapshot.`)
  const snapshot: Moref = created
  let lease: Moref | undefined
  try {
    const disks = await snapshotDisks(session, snapshot, signal)
    lease = mustMoref(await session.call('ExportSnapshot', { _this: snapshot }, signal), 'ExportSnapshot')
    const info = await waitLeaseReady(session, lease, { signal })
    const urls = leaseDisks(
      info,
      Object.entries(disks).map(([id, d]) => ({ id, address: d.address })),
      session.transport.endpoint.host,
    )
    const datacenter = await datacenterPath(session, vm.id, signal)
    const data: SnapshotData = { vm: vm.id, snapshot: snapshot.value, lease: lease.value, datacenter, disks: {} }
    const changeIds: Record<string, string> = {}
    for (const [id, { address: _address, ...d }] of Object.entries(disks)) {
      data.disks[id] = { ...urls[id]!, ...d }
      if (d.changeId) changeIds[id] = d.changeId
    }
    if (options.changeTracking) {
      const missing = Object.entries(disks)
        .filter(([, d]) => !d.changeId)
        .map(([, d]) => d.address)
      if (missing.length)
        log.warn(`${vm.name}: the snapshot has no change id for disk(s) ${missing.join(', ')}; change tracking is not active there yet`, {
          vm: vm.id,
        })
    }
    const stop = keepLeaseAlive(session, lease, (e) =>
      log.warn('vSphere lease keep-alive failed', { lease: lease?.value, error: (e as Error).message }),
    )
    return { data, ...(options.changeTracking ? { changeIds } : {}), stop }
  } catch (error) {
    if (lease) await releaseLease(session, lease, false).catch(() => undefined)
    // Without the signal: an abort must not leave the snapshot behind.
    await removeSnapshot(session, snapshot).catch((e: unknown) =>
      log.warn(`could not remove export snapshot ${snapshot.value} of ${vm.name}: ${(e as Error).message}`),
    )
    throw error
  }
}

/** ReconfigVM changeTrackingEnabled=true when it is off (vSphere activates it at the snapshot). */
async function enableChangeTracking(session: SnapshotCaller, ref: Moref, name: string, log: Logger, signal: AbortSignal): Promise<void> {
  const [o] = await retrieve(session, [ref], 'VirtualMachine', ['config.changeTrackingEnabled'], signal)
  if (o?.props['config.changeTrackingEnabled'] === 'true') return
  log.info(`${name}: turning on changed block tracking`, { vm: ref.value })
  try {
    await runTask(session, 'ReconfigVM_Task', { _this: ref, spec: { changeTrackingEnabled: true } }, { signal })
  } catch (error) {
    const e = error as GutsError
    throw new GutsError(e.code ?? 'GUTS_DRIVER_ERROR', `Could not turn on changed block tracking for ${name}: ${e.message}`, {
      cause: error,
      ref: name,
      suggestions: ['Changed block tracking needs virtual hardware version 7 or later, and no independent or physical RDM disks.'],
    })
  }
}

/** The snapshot's disks (its own config, pointing at the frozen files) by disk id. */
async function snapshotDisks(
  session: SnapshotCaller,
  snapshot: Moref,
  signal: AbortSignal,
): Promise<Record<string, Omit<SnapshotDisk, 'url' | 'thumbprint'> & { address: string }>> {
  const [o] = await retrieve(session, [snapshot], 'VirtualMachineSnapshot', ['config.hardware.device'], signal)
  const out: Record<string, Omit<SnapshotDisk, 'url' | 'thumbprint'> & { address: string }> = {}
  for (const f of diskFacts(devicesOf(o?.props['config.hardware.device'] as XmlValue | undefined))) {
    out[f.descriptor.id] = {
      address: f.address,
      virtualSize: f.descriptor.virtualSize,
      deviceKey: f.key,
      ...(f.fileName ? { fileName: f.fileName } : {}),
      ...(f.changeId ? { changeId: f.changeId } : {}),
    }
  }
  if (!Object.keys(out).length)
    throw new GutsError('GUTS_DRIVER_ERROR', `vSphere snapshot ${snapshot.value} has no disks in its configuration.`)
  return out
}

/**
 * Completes (success) or aborts the lease, then removes the snapshot whatever the outcome, also
 * when the lease could not be released. Both steps are idempotent: gone is done.
 */
export async function endSnapshotExport(session: SnapshotCaller, data: SnapshotData, succeeded: boolean): Promise<void> {
  let leaseError: unknown
  await releaseLease(session, leaseRef(data), succeeded).catch((e: unknown) => {
    leaseError = e
  })
  await removeSnapshot(session, snapshotRef(data))
  if (leaseError) throw leaseError
}

export function snapshotData(session: ExportSession): SnapshotData {
  const d = session.data as unknown as SnapshotData
  if (
    typeof d?.snapshot !== 'string' ||
    typeof d.lease !== 'string' ||
    typeof d.vm !== 'string' ||
    typeof d.datacenter !== 'string' ||
    typeof d.disks !== 'object' ||
    d.disks === null
  ) {
    throw new GutsError('GUTS_STATE_ERROR', `Export session of ${session.vm.name} is not a vmware snapshot export session.`)
  }
  return d
}

export const snapshotJson = (d: SnapshotData): JsonObject => JSON.parse(JSON.stringify(d)) as JsonObject
