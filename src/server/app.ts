import fastifySwagger from '@fastify/swagger'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod'
import type { MigrationService } from '../core/service.js'
import { roleCheck, type AuthMode } from './auth.js'
import type { ApiContext } from './context.js'
import { handleError } from './http-errors.js'
import { eventRoutes } from './routes/events.js'
import { migrationRoutes } from './routes/migrations.js'
import { systemRoutes } from './routes/system.js'
import type { MigrationRunner } from './runner.js'

export interface ApiOptions {
  service: MigrationService
  runner: MigrationRunner
  auth: AuthMode
  version: string
  /** Fastify's logger setting (false in tests); secrets never reach it: no bodies or auth headers are logged. */
  logger?: FastifyServerOptions['logger']
  https?: { key: Buffer; cert: Buffer }
}

/** The API's own version (the OpenAPI document's): changes only when the API does, not with every release. */
export const API_VERSION = '1.0.0'

/** Plans are text; 1 MiB holds thousands of VMs. Anything larger is refused before parsing. */
const BODY_LIMIT = 1024 * 1024

/**
 * The REST API over the one service: Fastify with zod schemas for every request and response,
 * the OpenAPI 3.1 document built from the same schemas at /openapi.json, one error shape, the role
 * check on every /v1 route. Not listening yet: `guts serve` listens, tests use `inject`.
 */
export async function buildApi(o: ApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: o.logger ?? false,
    bodyLimit: BODY_LIMIT,
    ...(o.https ? { https: o.https } : {}),
    // A client's request id is not trusted into logs; Fastify makes its own.
    requestIdHeader: false,
  }) as unknown as FastifyInstance
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  app.setErrorHandler(handleError)
  app.addHook('onSend', async (_req, reply) => {
    reply.header('x-guts-version', o.version)
  })
  // A plan may come as its YAML text: the body becomes `{ plan }`.
  app.addContentTypeParser(
    ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/plain'],
    { parseAs: 'string' },
    (_req, body, done) => done(null, { plan: body }),
  )
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'guts migration API',
        version: API_VERSION,
        description: 'Workload migration to OpenStack: plans, migrations, events.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API token (guts token create)' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  })
  const ctx: ApiContext = { service: o.service, runner: o.runner, require: roleCheck(o.auth) }
  systemRoutes(app, ctx)
  migrationRoutes(app, ctx)
  eventRoutes(app, ctx)
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
  await app.ready()
  return app
}
