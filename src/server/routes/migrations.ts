import { basename } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { ApiContext } from '../context.js'
import {
  accepted,
  asResponse,
  cancelBody,
  cancelOutput,
  cleanupOutput,
  createBody,
  cutoverOutput,
  errors,
  listQuery,
  migrationId,
  migrationShowOutput,
  migrationsPage,
  vmsBody,
} from '../api-schemas.js'

const created = z.looseObject({ id: z.string(), name: z.string(), status: z.string(), createdAt: z.string(), running: z.boolean() })

/**
 * `/v1/migrations`: create from a plan (nothing is recorded when it is invalid), list, show, and the
 * actions. Each handler is one service call (or one runner call) and its rendering.
 */
export function migrationRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>()
  const tags = ['migrations']

  r.post(
    '/v1/migrations',
    {
      schema: { tags, summary: 'Create a migration from a plan and start it', body: createBody, response: { 201: created, ...errors } },
      preHandler: ctx.require('operator'),
    },
    async (req, reply) => {
      const file = req.body.file ?? 'plan.yaml'
      const m = await ctx.service.createMigration(req.body.plan, basename(file), { keepOnFailure: req.body.keepOnFailure ?? false })
      const running = req.body.start === false ? false : ctx.runner.start(m.id)
      return reply.status(201).send({ id: m.id, name: m.name, status: m.status, createdAt: m.createdAt, running })
    },
  )

  r.get(
    '/v1/migrations',
    {
      schema: { tags, summary: 'Migrations, newest first, paged', querystring: listQuery, response: { 200: migrationsPage, ...errors } },
      preHandler: ctx.require('viewer'),
    },
    async (req) => {
      const { status, name, limit, offset } = req.query
      const rows = (await ctx.service.listMigrationSummaries(status ? { status: [status] } : undefined)).filter(
        (m) => !name || m.name.includes(name),
      )
      const items = rows.slice(offset, offset + limit).map(({ lease: _lease, ...m }) => m)
      return asResponse(migrationsPage, { items, total: rows.length, offset, limit })
    },
  )

  r.get(
    '/v1/migrations/:id',
    {
      schema: {
        tags,
        summary: 'One migration: its VMs, stages, disks, errors',
        params: migrationId,
        response: { 200: migrationShowOutput, ...errors },
      },
      preHandler: ctx.require('viewer'),
    },
    async (req) => asResponse(migrationShowOutput, await ctx.service.report(req.params.id)),
  )

  r.post(
    '/v1/migrations/:id/actions/cancel',
    {
      schema: { tags, summary: 'Cancel (idempotent)', params: migrationId, body: cancelBody, response: { 200: cancelOutput, ...errors } },
      preHandler: ctx.require('operator'),
    },
    async (req) => {
      const m = await ctx.service.cancelMigration(req.params.id)
      return { id: m.id, status: m.status, cancelRequested: m.cancelRequested }
    },
  )

  r.post(
    '/v1/migrations/:id/actions/cutover',
    {
      schema: {
        tags,
        summary: 'Cut over warm VMs (all, or those named)',
        params: migrationId,
        body: vmsBody,
        response: { 200: cutoverOutput, ...errors },
      },
      preHandler: ctx.require('operator'),
    },
    async (req) => {
      const c = await ctx.service.requestCutover(req.params.id, req.body.vms ?? [])
      return { id: c.migration.id, vms: c.vms, running: c.live }
    },
  )

  r.post(
    '/v1/migrations/:id/actions/resume',
    {
      schema: { tags, summary: 'Resume a stopped migration in this server', params: migrationId, response: { 202: accepted, ...errors } },
      preHandler: ctx.require('operator'),
    },
    async (req, reply) => {
      const m = await ctx.service.getMigration(req.params.id)
      return reply.status(202).send({ id: m.id, status: m.status, running: ctx.runner.start(m.id) || ctx.runner.has(m.id) })
    },
  )

  r.post(
    '/v1/migrations/:id/actions/retry',
    {
      schema: {
        tags,
        summary: 'Run the failed VMs again, same settings',
        params: migrationId,
        body: vmsBody,
        response: { 202: accepted, ...errors },
      },
      preHandler: ctx.require('operator'),
    },
    async (req, reply) => {
      const m = await ctx.service.getMigration(req.params.id)
      const vms = req.body.vms
      return reply
        .status(202)
        .send({ id: m.id, status: m.status, running: ctx.runner.start(m.id, vms ? { vms } : {}) || ctx.runner.has(m.id) })
    },
  )

  r.post(
    '/v1/migrations/:id/actions/cleanup',
    {
      schema: { tags, summary: 'Undo what the unfinished VMs left', params: migrationId, response: { 200: cleanupOutput, ...errors } },
      preHandler: ctx.require('operator'),
    },
    async (req) => {
      const c = await ctx.service.cleanup(req.params.id)
      return { id: c.migration.id, status: c.migration.status, cleaned: c.cleaned, failed: c.failed }
    },
  )
}
