/**
 * The one error type of guts. Every failure a user can see carries a stable `code`
 * (safe to match on in scripts and API clients), a message that says what to do,
 * optional `suggestions`, and the underlying `cause`.
 */
export const ERROR_CODES = [
  'GUTS_PLAN_INVALID',
  'GUTS_USAGE',
  'GUTS_CONFIG_INVALID',
  'GUTS_DRIVER_NOT_FOUND',
  'GUTS_DRIVER_INCOMPATIBLE',
  'GUTS_UNSUPPORTED',
  'GUTS_AUTH_FAILED',
  'GUTS_NOT_FOUND',
  'GUTS_UNREACHABLE',
  'GUTS_QUOTA_EXCEEDED',
  'GUTS_PREFLIGHT_FAILED',
  'GUTS_TIMEOUT',
  'GUTS_ABORTED',
  'GUTS_CONFLICT',
  'GUTS_EXTERNAL_COMMAND_FAILED',
  'GUTS_TOOL_MISSING',
  'GUTS_VERIFY_FAILED',
  'GUTS_STATE_ERROR',
  'GUTS_DRIVER_ERROR',
] as const

export type GutsErrorCode = (typeof ERROR_CODES)[number]

export interface GutsErrorOptions {
  /** What the user can do about it, one line each. */
  suggestions?: readonly string[]
  /** The error underneath (never shown as a stack to users). */
  cause?: unknown
  /** True when the same call may succeed if retried (network blips, 5xx, lock contention). */
  retryable?: boolean
  /** Vendor details, JSON-safe and free of secrets, e.g. `{vmware: {fault: 'InvalidLogin'}}`. */
  details?: Record<string, unknown>
  /** Where the problem is: `plan.yaml:14:7 vms[0].flavor`, a VM name, a disk id. */
  ref?: string
}

export class GutsError extends Error {
  override readonly name = 'GutsError'
  readonly code: GutsErrorCode
  readonly suggestions: readonly string[]
  readonly retryable: boolean
  readonly details?: Record<string, unknown>
  readonly ref?: string

  constructor(code: GutsErrorCode, message: string, options: GutsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.suggestions = options.suggestions ?? []
    this.retryable = options.retryable ?? false
    if (options.details) this.details = options.details
    if (options.ref) this.ref = options.ref
  }

  /** A JSON-safe view for `--json` output and HTTP problem bodies (no stack, no cause objects). */
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.ref ? { ref: this.ref } : {}),
      ...(this.suggestions.length ? { suggestions: this.suggestions } : {}),
      ...(this.details ? { details: this.details } : {}),
      retryable: this.retryable,
      ...(this.cause instanceof Error ? { cause: this.cause.message } : {}),
    }
  }
}

/**
 * Structural check: a plugin may bundle its own copy of the SDK, so `instanceof` is not enough.
 */
export function isGutsError(e: unknown): e is GutsError {
  return (
    typeof e === 'object' &&
    e !== null &&
    (e as { name?: unknown }).name === 'GutsError' &&
    typeof (e as { code?: unknown }).code === 'string'
  )
}

/** The error every driver must throw when its AbortSignal fires. */
export function abortedError(signal?: AbortSignal): GutsError {
  const reason = signal?.reason
  const why = reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : 'the operation was cancelled'
  return new GutsError('GUTS_ABORTED', `Aborted: ${why}`, { cause: reason })
}

/** Throws GUTS_ABORTED if the signal has fired; call it between steps of long work. */
export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw abortedError(signal)
}
