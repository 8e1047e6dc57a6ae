export { createAgent, closeAgent, type AgentOptions } from './agent.js'
export { bunFetchTls, type BunFetchTls } from './bun-tls.js'
export { HttpPool, type PoolOptions } from './pool.js'
export { retrying, retryableFailure, retryableStatus, type RetryOptions } from './retrying.js'
export { readText, streamRequest, type StreamRequestOptions, type StreamResponse } from './stream.js'
export {
  normalizeThumbprint,
  pinCheck,
  pinError,
  readCa,
  sha1Thumbprint,
  thumbprintOf,
  tlsConnectOptions,
  type TlsSettings,
} from './tls.js'
