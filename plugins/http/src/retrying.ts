import { backoffMs, classifyNetworkError, isGutsError, sleep } from '@guts/sdk'

export interface RetryOptions<T> {
  /**
   * May the call be repeated once it may have reached the server? True for reads and for writes
   * that end in the same state however often they run (PUT, DELETE, a property read). A call
   * that starts something (a POST creating a server, a vSphere `*_Task`) is false: after a lost
   * answer it may already be running, and a repeat would start it twice.
   */
  idempotent: boolean
  /** Retries after the first attempt (default 4: 0.5 + 1 + 2 + 4 s of backoff). */
  attempts?: number
  signal?: AbortSignal
  /**
   * For an answer: whether it asks to be repeated. Return the Retry-After value (or null) to
   * retry, undefined to keep it. `retryableStatus` is the usual choice; the function must not
   * leave an unread body behind when it asks for a retry.
   */
  retryAnswer?: (value: T) => string | null | undefined
  /** Told before each wait, for a debug log line. */
  onRetry?: (info: { attempt: number; waitMs: number; reason: string }) => void
}

/**
 * Why a thrown error may be retried, or undefined. A refused connection never reached the server,
 * so any call may be repeated; a reset or a timeout may have happened after the server acted, so
 * only idempotent calls are. GutsErrors are decisions already made (a failed pin, a login
 * rejected) and TLS verification failures never get better by trying again.
 */
export function retryableFailure(error: unknown, idempotent: boolean): string | undefined {
  if (isGutsError(error)) return undefined
  const info = classifyNetworkError(error)
  if (info.kind === 'refused') return info.code ?? 'refused'
  if (!idempotent) return undefined
  if (info.kind === 'reset' || info.kind === 'timeout' || info.code === 'EAI_AGAIN') return info.code ?? info.kind
  return undefined
}

/** 5xx and 429 ask for a retry of an idempotent call, honouring Retry-After. */
export function retryableStatus(idempotent: boolean): (r: { status: number; headers: Headers }) => string | null | undefined {
  return (r) => (idempotent && (r.status === 429 || r.status >= 500) ? r.headers.get('retry-after') : undefined)
}

/**
 * Runs `fn` and repeats it, with exponential backoff, after connection failures and answers that
 * ask for it, as far as the call is safe to repeat. The last failure or answer is returned or
 * thrown as is, for the caller to map (the SDK's networkError for thrown errors).
 */
export async function retrying<T>(fn: (attempt: number) => Promise<T>, o: RetryOptions<T>): Promise<T> {
  const max = o.attempts ?? 4
  for (let attempt = 0; ; attempt++) {
    let value: T
    try {
      value = await fn(attempt)
    } catch (error) {
      const reason = o.signal?.aborted || attempt >= max ? undefined : retryableFailure(error, o.idempotent)
      if (!reason) throw error
      await pause(o, attempt, reason)
      continue
    }
    const retryAfter = attempt < max ? o.retryAnswer?.(value) : undefined
    if (retryAfter === undefined) return value
    await pause(
      o,
      attempt,
      (value as { status?: unknown })?.status ? `HTTP ${String((value as { status: unknown }).status)}` : 'answer',
      retryAfter,
    )
  }
}

async function pause<T>(o: RetryOptions<T>, attempt: number, reason: string, retryAfter?: string | null): Promise<void> {
  const waitMs = backoffMs(attempt, retryAfter)
  o.onRetry?.({ attempt, waitMs, reason })
  await sleep(waitMs, o.signal)
}
