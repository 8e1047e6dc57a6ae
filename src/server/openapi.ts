import type { MigrationService } from '../core/service.js'
import { buildApi } from './app.js'
import type { MigrationRunner } from './runner.js'

/**
 * The OpenAPI document the API serves at /openapi.json, without a store or a runner behind it
 * (building the document calls no handler): for the committed copy and its check.
 */
export async function openApiDocument(): Promise<Record<string, unknown>> {
  const app = await buildApi({
    service: {} as MigrationService,
    runner: {} as MigrationRunner,
    auth: { mode: 'none' },
    version: 'document',
  })
  try {
    return app.swagger() as unknown as Record<string, unknown>
  } finally {
    await app.close()
  }
}
