import type { preHandlerAsyncHookHandler } from 'fastify'
import type { MigrationService } from '../core/service.js'
import type { MigrationRunner } from './runner.js'

export type Role = 'viewer' | 'operator' | 'admin'

/** What the routes get: the one service, the in-process runner, and the role check for each route. */
export interface ApiContext {
  service: MigrationService
  runner: MigrationRunner
  /** A preHandler that lets through callers with at least `role` (401 without credentials, 403 below it). */
  require(role: Role): preHandlerAsyncHookHandler
}
