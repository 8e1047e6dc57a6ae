import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { TERMINAL_MIGRATION_STATUSES } from '../../core/state/store.js'
import type { ApiContext } from '../context.js'
import { asResponse, errors, eventsPage, eventsQuery, migrationId } from '../api-schemas.js'
import { streamEvents } from '../sse.js'

/**
 * A migration's event log: a page (`?after=&limit=`, JSON), or with `Accept: text/event-stream` a
 * live stream that replays from `Last-Event-ID` and follows until the migration ends.
 */
export function eventRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/v1/migrations/:id/events',
    {
      schema: {
        tags: ['migrations'],
        summary: 'The event log, paged; Server-Sent Events with Accept: text/event-stream',
        params: migrationId,
        querystring: eventsQuery,
        response: { 200: eventsPage, ...errors },
      },
      preHandler: ctx.require('viewer'),
    },
    async (req, reply) => {
      const m = await ctx.service.getMigration(req.params.id)
      const { after, limit } = req.query
      if (/\btext\/event-stream\b/.test(req.headers.accept ?? '')) {
        return streamEvents(
          req,
          reply,
          {
            read: (seq, n) => ctx.service.events(m.id, seq, n),
            finished: async () =>
              TERMINAL_MIGRATION_STATUSES.includes((await ctx.service.getMigration(m.id)).status) && !ctx.runner.has(m.id),
          },
          after,
        )
      }
      const items = await ctx.service.events(m.id, after, limit)
      return asResponse(eventsPage, { items, next: items.at(-1)?.seq ?? after })
    },
  )
}
