import { GutsError, isGutsError, poll } from '@guts/sdk'
import { retrieve, type Caller } from '../client/property-collector.js'
import { arr, isObject, str, type Moref, type XmlObject } from '../client/xml.js'
import { CONTROLLERS } from '../devices.js'
import { taskError } from '../client/tasks.js'

/** One disk of an export lease, as the export session keeps it (plain JSON). */
export interface LeaseDisk {
  url: string
  /** SHA-1 of the certificate of the host serving `url` (vCenter vouches for it in the lease). */
  thumbprint?: string
}

/**
 * Waits out `initializing` (vCenter prepares the disks first; vcsimx starts `ready`) and
 * returns the lease info. A lease in `error` carries a fault, which is thrown as a GutsError.
 */
export async function waitLeaseReady(
  caller: Caller,
  lease: Moref,
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<XmlObject> {
  return poll(
    async () => {
      const [o] = await retrieve(caller, [lease], 'HttpNfcLease', ['state', 'info', 'error'], opts.signal)
      const state = o?.props.state
      if (state === 'ready' && isObject(o?.props.info)) return o.props.info
      if (state === 'error') throw taskError(lease, 'HttpNfcLease', o?.props.error)
      if (state !== 'initializing')
        throw new GutsError('GUTS_DRIVER_ERROR', `vSphere export lease ${lease.value} is ${String(state)}, not ready.`)
      return undefined
    },
    {
      what: `vSphere export lease ${lease.value}`,
      timeoutMs: opts.timeoutMs ?? 10 * 60_000,
      intervalMs: 100,
      factor: 2,
      maxIntervalMs: 2000,
      ...(opts.signal ? { signal: opts.signal } : {}),
      timeoutError: () =>
        new GutsError('GUTS_TIMEOUT', `vSphere export lease ${lease.value} stayed initializing for too long.`, { retryable: true }),
    },
  )
}

/**
 * `/vm-60/ParaVirtualSCSIController0:0` → `scsi0:0`: lease device keys name the controller class
 * and its bus, then the unit, which is how describeVm addresses disks (`extra.disks[].address`).
 */
export function leaseKeyAddress(key: string): string | undefined {
  const m = /\/([A-Za-z]+?)(\d+):(\d+)$/.exec(key)
  if (!m) return undefined
  const kind = CONTROLLERS[m[1]!]
  return kind ? `${kind}${m[2]}:${m[3]}` : undefined
}

/**
 * The lease's disk URLs by disk id. The `*` host ESXi puts in URLs means "the host you talked
 * to" and is replaced by the endpoint's host.
 */
export function leaseDisks(
  info: XmlObject,
  addresses: { id: string; address?: string }[],
  endpointHost: string,
): Record<string, LeaseDisk> {
  const urls = arr(info.deviceUrl).filter((d) => isObject(d) && str(d, 'disk') === 'true')
  const out: Record<string, LeaseDisk> = {}
  for (const d of urls) {
    const address = leaseKeyAddress(str(d, 'key') ?? '')
    const disk = addresses.find((a) => a.address === address) ?? (urls.length === 1 && addresses.length === 1 ? addresses[0] : undefined)
    const url = str(d, 'url')
    if (!disk || !url) continue
    const thumbprint = str(d, 'sslThumbprint')
    out[disk.id] = {
      url: url.replace(/^(https?:\/\/)\*(?=[:/])/, `$1${endpointHost.replace(/:\d+$/, '')}`),
      ...(thumbprint ? { thumbprint } : {}),
    }
  }
  const missing = addresses.filter((a) => !out[a.id])
  if (missing.length) {
    throw new GutsError(
      'GUTS_DRIVER_ERROR',
      `The vSphere export lease has no URL for disk(s) ${missing.map((m) => m.address ?? m.id).join(', ')}.`,
      {
        details: { vmware: { leaseKeys: urls.map((u) => str(u, 'key') ?? '') } },
      },
    )
  }
  return out
}

/**
 * Keeps a lease alive: vCenter expires it after `leaseTimeout` (300 s) without
 * HttpNfcLeaseProgress. Every 60 s is well within it. Returns the stop function.
 */
export function keepLeaseAlive(caller: Caller, lease: Moref, onError: (e: unknown) => void, everyMs = 60_000): () => void {
  const timer = setInterval(() => {
    caller.call('HttpNfcLeaseProgress', { _this: lease, percent: 50 }).catch(onError)
  }, everyMs)
  timer.unref()
  return () => clearInterval(timer)
}

/** Complete (success) or abort a lease; a lease already finished or gone is fine (idempotent). */
export async function releaseLease(caller: Caller, lease: Moref, succeeded: boolean): Promise<void> {
  let state: unknown
  try {
    const [o] = await retrieve(caller, [lease], 'HttpNfcLease', ['state'])
    state = o?.props.state
  } catch (error) {
    if (isGutsError(error) && error.code === 'GUTS_NOT_FOUND') return
    throw error
  }
  if (state === 'done' || state === 'error' || state === undefined) return
  if (succeeded) {
    await caller.call('HttpNfcLeaseProgress', { _this: lease, percent: 100 })
    await caller.call('HttpNfcLeaseComplete', { _this: lease })
  } else {
    await caller.call('HttpNfcLeaseAbort', { _this: lease })
  }
}

/**
 * Before handing out a lease's URLs: a lease that was aborted, completed or expired serves
 * nothing any more (404s mid-transfer), so say so now, clearly. `initializing` is waited out.
 */
export async function assertLeaseUsable(caller: Caller, lease: Moref, vmName: string, signal?: AbortSignal): Promise<void> {
  let state: unknown
  try {
    const [o] = await retrieve(caller, [lease], 'HttpNfcLease', ['state'], signal)
    state = o?.props.state
  } catch (error) {
    if (!(isGutsError(error) && error.code === 'GUTS_NOT_FOUND')) throw error
    state = 'gone'
  }
  if (state === 'ready') return
  if (state === 'initializing') {
    await waitLeaseReady(caller, lease, signal ? { signal } : {})
    return
  }
  const why =
    state === 'error' ? 'was aborted or failed' : state === 'done' ? 'was already completed' : 'no longer exists (expired or released)'
  throw new GutsError(
    'GUTS_CONFLICT',
    `The vSphere export lease ${lease.value} of ${vmName} ${why}: its disks cannot be read any more. End this export and begin a new one.`,
    {
      details: { vmware: { lease: lease.value, state: String(state) } },
    },
  )
}
