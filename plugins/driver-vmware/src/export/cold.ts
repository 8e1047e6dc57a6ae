import { Readable } from 'node:stream'
import {
  GutsError,
  type DiskSource,
  type ExportOptions,
  type ExportSession,
  type JsonObject,
  type Logger,
  type VmDescriptor,
} from '@guts/sdk'
import { retrieve } from '../client/property-collector.js'
import type { VimSession } from '../client/session.js'
import { mustMoref, type Moref } from '../client/xml.js'
import { keepLeaseAlive, leaseDisks, releaseLease, waitLeaseReady, type LeaseDisk } from './lease.js'
import { guarded } from './guarded.js'
import { vmdkToRaw } from './vmdk-stream.js'

/** What a cold export session keeps (plain JSON, so openDisk/endExport work in another process). */
interface ColdData {
  lease: string
  disks: Record<string, LeaseDisk & { virtualSize: number }>
}

/**
 * Cold export: the VM must be off (the core powers it off first through powerOff when the plan
 * allows), then ExportVm gives an NFC lease whose disk URLs serve streamOptimized VMDKs. Nothing
 * on the source changes: the lease is the only thing taken, and a failure after it aborts it.
 */
export async function beginColdExport(
  session: VimSession,
  vm: VmDescriptor,
  options: ExportOptions,
  log: Logger,
  signal: AbortSignal,
): Promise<{ data: ColdData; stop: () => void }> {
  const ref: Moref = { type: 'VirtualMachine', value: vm.id }
  const [now] = await retrieve(session, [ref], 'VirtualMachine', ['runtime.powerState'], signal)
  if (now?.props['runtime.powerState'] !== 'poweredOff') {
    const why =
      options.powerOff === 'refuse'
        ? 'the plan says powerOff: refuse, so shut it down first'
        : `power it off first (powerOff: ${options.powerOff}), or use mode: snapshot`
    throw new GutsError(
      'GUTS_CONFLICT',
      `${vm.name} is ${String(now?.props['runtime.powerState'] ?? 'in an unknown power state')}: a cold export needs it powered off; ${why}.`,
      { ref: vm.name },
    )
  }
  const lease = mustMoref(await session.call('ExportVm', { _this: ref }, signal), 'ExportVm')
  try {
    const info = await waitLeaseReady(session, lease, { signal })
    const addresses = (Array.isArray(vm.extra?.disks) ? vm.extra.disks : []) as { id: string; address?: string }[]
    const urls = leaseDisks(info, addresses.length ? addresses : vm.disks.map((d) => ({ id: d.id })), session.transport.endpoint.host)
    const disks: ColdData['disks'] = {}
    for (const d of vm.disks) if (urls[d.id]) disks[d.id] = { ...urls[d.id]!, virtualSize: d.virtualSize }
    const stop = keepLeaseAlive(session, lease, (e) =>
      log.warn('vSphere lease keep-alive failed', { lease: lease.value, error: (e as Error).message }),
    )
    return { data: { lease: lease.value, disks }, stop }
  } catch (error) {
    await releaseLease(session, lease, false).catch(() => undefined)
    throw error
  }
}

export function coldData(session: ExportSession): ColdData {
  const d = session.data as unknown as ColdData
  if (typeof d?.lease !== 'string' || typeof d.disks !== 'object')
    throw new GutsError('GUTS_STATE_ERROR', `Export session of ${session.vm.name} is not a vmware cold export session.`)
  return d
}

/** A raw stream of one disk: the lease URL, decoded from streamOptimized VMDK on the fly. */
export function leaseDiskSource(session: VimSession, data: Pick<ColdData, 'disks'>, diskId: string, vmName: string): DiskSource {
  const disk = data.disks[diskId]
  if (!disk)
    throw new GutsError('GUTS_NOT_FOUND', `Disk ${diskId} of ${vmName} is not in the export lease.`, { ref: `${vmName} disk ${diskId}` })
  return {
    kind: 'stream',
    format: 'raw',
    virtualSize: disk.virtualSize,
    async open(signal: AbortSignal): Promise<Readable> {
      const res = await session.transport.get(disk.url, signal, disk.thumbprint)
      if (res.status !== 200 || !res.body) {
        const code =
          res.status === 401 || res.status === 403 ? 'GUTS_AUTH_FAILED' : res.status === 404 ? 'GUTS_NOT_FOUND' : 'GUTS_DRIVER_ERROR'
        throw new GutsError(
          code,
          `vSphere NFC download of ${vmName} disk ${diskId} failed with HTTP ${res.status}: the lease may have expired or been aborted.`,
        )
      }
      return vmdkToRaw(guarded(Readable.fromWeb(res.body as never), signal))
    },
  }
}

export async function endColdExport(session: VimSession, data: ColdData, succeeded: boolean): Promise<void> {
  await releaseLease(session, { type: 'HttpNfcLease', value: data.lease }, succeeded)
}

export type { ColdData }
export const asJson = (d: ColdData): JsonObject => JSON.parse(JSON.stringify(d)) as JsonObject
