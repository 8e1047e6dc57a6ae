import { abortedError, GutsError, isGutsError } from '@guts/sdk'

/**
 * Turns a cut connection or an abort mid-download into a GutsError the core understands: an
 * abort is GUTS_ABORTED, anything else from the socket GUTS_UNREACHABLE (retryable: the core may
 * open the disk again). GutsErrors from further down pass unchanged.
 */
export async function* guarded(
  body: AsyncIterable<Buffer>,
  signal: AbortSignal,
  what = 'the vSphere NFC download',
): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of body) yield chunk
  } catch (error) {
    if (signal.aborted) throw abortedError(signal)
    if (isGutsError(error)) throw error
    throw new GutsError('GUTS_UNREACHABLE', `${what[0]!.toUpperCase()}${what.slice(1)} was interrupted: ${(error as Error).message}`, {
      cause: error,
      retryable: true,
    })
  }
}
