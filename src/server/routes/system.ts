import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { GutsError } from '@guts/sdk'
import type { ApiContext } from '../context.js'
import { asResponse, driversListOutput, errors, health, planBody, planValidateOutput } from '../api-schemas.js'
import { planInvalidError } from '../../core/plan/issues.js'

/** Health and readiness (no auth: load balancers ask), the installed drivers, plan validation. */
export function systemRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>()
  r.get('/healthz', { schema: { tags: ['system'], summary: 'The process answers', response: { 200: health } } }, async () => ({
    status: 'ok',
  }))

  r.get(
    '/readyz',
    { schema: { tags: ['system'], summary: 'The state store answers', response: { 200: health, 503: health } } },
    async (_req, reply) => {
      try {
        await ctx.service.listMigrationSummaries({ limit: 1 })
        return { status: 'ready' }
      } catch (error) {
        app.log.warn({ err: error }, 'readiness: the state store does not answer')
        return reply.status(503).send({ status: 'state store unreachable' })
      }
    },
  )

  r.get(
    '/v1/drivers',
    {
      schema: { tags: ['drivers'], summary: 'Installed drivers and what they can do', response: { 200: driversListOutput, ...errors } },
      preHandler: ctx.require('viewer'),
    },
    async () => asResponse(driversListOutput, await ctx.service.listDrivers()),
  )

  r.post(
    '/v1/plans/validate',
    {
      schema: {
        tags: ['plans'],
        summary: 'Check a plan: every problem with its line and column (400 when invalid)',
        body: planBody,
        response: { 200: planValidateOutput, ...errors },
      },
      preHandler: ctx.require('viewer'),
    },
    async (req) => {
      const file = req.body.file ?? 'plan.yaml'
      const check = await ctx.service.validatePlan(req.body.plan, file)
      if (check.issues.some((i) => i.severity === 'error')) throw planInvalidError(file, check.issues)
      return { file, valid: true, issues: check.issues.map((i) => ({ file, ...i })) }
    },
  )

  r.setNotFoundHandler(() => {
    throw new GutsError('GUTS_NOT_FOUND', 'No such route.', { suggestions: ['The API is described at /openapi.json.'] })
  })
}
