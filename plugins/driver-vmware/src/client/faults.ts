import { GutsError, isGutsError, networkError, type GutsErrorCode } from '@guts/sdk'
import { isObject, str, toMoref, type XmlObject, XSI_TYPE } from './xml.js'

/** A SOAP fault as the server sent it, before it is mapped to a GutsError. */
export interface VimFault {
  /** The vim25 fault type, e.g. `InvalidLogin`, `ManagedObjectNotFound`, `InvalidPowerState`. */
  name: string
  message: string
  /** The fault's detail object (the `obj` of ManagedObjectNotFound, …). */
  detail?: XmlObject
}

/**
 * Reads `<Fault><faultstring/><detail><XFault xsi:type="X">…` into a VimFault. The type is the
 * detail element's xsi:type (both servers write one); the element name minus `Fault` is the
 * fallback for servers that omit it.
 */
export function readFault(fault: XmlObject): VimFault {
  const message = str(fault, 'faultstring') ?? 'unknown fault'
  const detail = fault.detail
  if (!isObject(detail)) return { name: 'unknown', message }
  const key = Object.keys(detail).find((k) => !k.startsWith('@_') && k !== '#text')
  if (!key) return { name: 'unknown', message }
  const body = detail[key]
  const typed = isObject(body) ? body[XSI_TYPE] : undefined
  const name = typeof typed === 'string' ? typed.replace(/^[^:]*:/, '') : key.replace(/Fault$/, '')
  return { name, message, ...(isObject(body) ? { detail: body } : {}) }
}

/** The faults after which a fresh Login and one retry of the call is the fix. */
export function isSessionFault(f: VimFault): boolean {
  return f.name === 'NotAuthenticated'
}

const CODES: Record<string, GutsErrorCode> = {
  InvalidLogin: 'GUTS_AUTH_FAILED',
  NotAuthenticated: 'GUTS_AUTH_FAILED',
  NoPermission: 'GUTS_AUTH_FAILED',
  ManagedObjectNotFound: 'GUTS_NOT_FOUND',
  NotFound: 'GUTS_NOT_FOUND',
  NotSupported: 'GUTS_UNSUPPORTED',
  MethodNotFound: 'GUTS_UNSUPPORTED',
  InvalidPowerState: 'GUTS_CONFLICT',
  InvalidState: 'GUTS_CONFLICT',
  TaskInProgress: 'GUTS_CONFLICT',
}

const SUGGESTIONS: Record<string, string[]> = {
  InvalidLogin: ['Check username and password (plan options, or GOVC_USERNAME / GOVC_PASSWORD / GOVC_URL).'],
  NoPermission: ['The vSphere user needs the privileges listed in the driver README on the VMs to migrate.'],
  ManagedObjectNotFound: ['The object was deleted or the id is stale: list the VMs again (guts vm list).'],
  MethodNotFound: ['The server does not implement this call; check the vCenter/ESXi version.'],
}

/**
 * Maps a fault to the one guts error type. The fault name always goes into details
 * (`{vmware: {fault, method}}`) so that scripts can tell InvalidPowerState from TaskInProgress.
 */
export function faultError(method: string, f: VimFault): GutsError {
  const code = CODES[f.name] ?? 'GUTS_DRIVER_ERROR'
  const obj = f.detail ? toMoref(f.detail.obj) : undefined
  const what = f.name === 'InvalidLogin' ? 'vSphere rejected the login' : `vSphere ${method} failed with ${f.name}`
  return new GutsError(code, `${what}: ${f.message}`, {
    details: { vmware: { fault: f.name, method, ...(obj ? { obj: `${obj.type}:${obj.value}` } : {}) } },
    suggestions: SUGGESTIONS[f.name] ?? [],
    retryable: f.name === 'TaskInProgress',
  })
}

/** The vim25 fault name behind a GutsError from this client (`details.vmware.fault`), if any. */
export function faultNameOf(error: unknown): string | undefined {
  const details = (error as { details?: { vmware?: { fault?: unknown } } } | undefined)?.details
  const name = details?.vmware?.fault
  return typeof name === 'string' ? name : undefined
}

/**
 * A failure below SOAP (no answer at all), classified by the SDK so that it means what it means in
 * every driver: a TLS verification failure (or a pin mismatch) is GUTS_AUTH_FAILED, refused,
 * reset, timeout and DNS failures are GUTS_UNREACHABLE.
 */
export function transportError(endpoint: URL, method: string, error: unknown, signal?: AbortSignal): GutsError {
  if (signal?.aborted) return new GutsError('GUTS_ABORTED', `Aborted during vSphere ${method}.`, { cause: signal.reason })
  if (isGutsError(error)) return error
  return networkError(error, {
    what: 'vSphere',
    endpoint,
    details: { vmware: { method } },
    hints: { tls: ['Self-signed certificate? Pin it with thumbprint (GOVC_THUMBPRINT) or pass caCert; insecure: true only in labs.'] },
  })
}
