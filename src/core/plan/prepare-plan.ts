import { GutsError, type DriverModule } from '@guts/sdk'
import type { DriverRegistry } from '../../drivers/registry.js'
import type { GutsConfig } from '../config/config-schema.js'
import type { ResolvedEndpoints } from '../pipeline/run-migration.js'
import { driverOptions } from './driver-options.js'
import { planInvalidError } from './issues.js'
import { checkPlan, type PlanCheck } from './load-plan.js'
import { referenceIssues, resolveReferences } from './references.js'

export interface PrepareEnv {
  registry: DriverRegistry
  config?: GutsConfig
  env?: Record<string, string | undefined>
}

/**
 * Everything that must hold before a migration may start: a valid plan and every `${env:…}` /
 * `${file:…}` reference resolvable. Throws GUTS_PLAN_INVALID listing all problems; creates nothing.
 */
export async function preparePlan(text: string, file: string, env: PrepareEnv): Promise<{ check: PlanCheck; resolved: ResolvedEndpoints }> {
  const check = await checkPlan(text, file, { registry: env.registry, ...(env.config ? { config: env.config } : {}) })
  if (!check.plan) throw planInvalidError(file, check.issues)
  const { value: plan, issues } = resolveReferences(check.plan, { env: env.env ?? process.env, baseDir: check.baseDir })
  if (issues.length)
    throw planInvalidError(
      file,
      referenceIssues(issues, (p) => check.located.locate(p)),
    )
  const resolved: ResolvedEndpoints = {
    plan,
    sourceOptions: withBaseDir(await env.registry.load(plan.source.driver!, 'source'), driverOptions(plan.source), check.baseDir),
    destinationOptions: withBaseDir(
      await env.registry.load(plan.destination.driver!, 'destination'),
      driverOptions(plan.destination),
      check.baseDir,
    ),
  }
  return { check, resolved }
}

/**
 * Drivers that read local paths declare a `baseDir` option; guts sets it (to the plan's directory,
 * or the config file's for a profile) unless the options already carry one.
 */
export function withBaseDir(module: DriverModule, options: Record<string, unknown>, baseDir: string): Record<string, unknown> {
  const props = (module.optionsSchema as { properties?: Record<string, unknown> }).properties ?? {}
  if ('baseDir' in props && options.baseDir === undefined) return { ...options, baseDir }
  return options
}

export function usageError(message: string, suggestions: string[] = []): GutsError {
  return new GutsError('GUTS_USAGE', message, { suggestions })
}
