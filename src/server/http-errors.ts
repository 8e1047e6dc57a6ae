import { GutsError, isGutsError, type GutsErrorCode } from '@guts/sdk'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod'

/** HTTP status of each error code: what the caller got wrong is 4xx, what went wrong behind the API is 5xx. */
const STATUS: Partial<Record<GutsErrorCode, number>> = {
  GUTS_PLAN_INVALID: 400,
  GUTS_USAGE: 400,
  GUTS_CONFIG_INVALID: 400,
  GUTS_PREFLIGHT_FAILED: 422,
  GUTS_AUTH_FAILED: 401,
  GUTS_NOT_FOUND: 404,
  GUTS_DRIVER_NOT_FOUND: 404,
  GUTS_CONFLICT: 409,
  GUTS_UNSUPPORTED: 422,
  GUTS_QUOTA_EXCEEDED: 422,
  GUTS_UNREACHABLE: 502,
  GUTS_TIMEOUT: 504,
}

export function httpStatus(error: GutsError): number {
  if (error.code === 'GUTS_AUTH_FAILED' && error.details?.forbidden === true) return 403
  return STATUS[error.code] ?? 500
}

/**
 * The one error body of the API: `{ error: { code, message, suggestions, details } }`, the same shape
 * as `--json` on the CLI. Never a stack trace; an unexpected error shows only that it happened.
 */
export function errorBody(error: GutsError): { error: Record<string, unknown> } {
  // The cause's text is for the server's log: it may name internals (paths, library messages).
  const { cause: _cause, ...rest } = error.toJSON()
  return { error: rest }
}

/** Fastify's error handler: request validation → 400 with every problem and where; GutsError by code. */
export function handleError(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (hasZodFastifySchemaValidationErrors(error)) {
    const issues = error.validation.map((v) => ({
      path: `${error.validationContext ?? 'body'}${v.instancePath.replace(/\//g, '.')}`,
      message: v.message ?? 'is invalid',
    }))
    const e = new GutsError('GUTS_USAGE', `The request is invalid: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, {
      details: { issues },
    })
    return reply.status(400).send(errorBody(e))
  }
  if (isGutsError(error)) return reply.status(httpStatus(error)).send(errorBody(error))
  const fe = error as FastifyError
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
    // Fastify's own 4xx (a body too large, bad JSON, an unsupported media type): its message is safe.
    return reply.status(fe.statusCode).send(errorBody(new GutsError('GUTS_USAGE', fe.message)))
  }
  request.log.error({ err: error }, 'unexpected error')
  return reply.status(500).send(errorBody(new GutsError('GUTS_STATE_ERROR', 'The server failed on this request; see its log.')))
}
