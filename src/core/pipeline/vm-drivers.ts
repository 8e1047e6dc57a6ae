import { isGutsError, type DestinationDriver, type JsonObject, type SourceDriver } from '@guts/sdk'

/** The two drivers one VM moves between; the stages, rollback and verify all take this pair. */
export interface VmDrivers {
  source: SourceDriver
  destination: DestinationDriver
}

/** Errors as stored and reported: GutsErrors keep their code; anything else is a driver error. */
export function errorJson(error: unknown): JsonObject {
  if (isGutsError(error)) return error.toJSON() as JsonObject
  const e = error instanceof Error ? error : new Error(String(error))
  return { code: 'GUTS_DRIVER_ERROR', message: e.message }
}
