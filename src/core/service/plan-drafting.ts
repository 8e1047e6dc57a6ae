import type { DriverModule, SourceCapabilities } from '@guts/sdk'
import { GutsError } from '@guts/sdk'
import type { DriverRegistry } from '../../drivers/registry.js'
import { buildPlanYaml, modeProblem, type PlanDraft } from '../plan/build-plan.js'
import { planInvalidError } from '../plan/issues.js'
import type { PlanCheck } from '../plan/load-plan.js'

/** One option of a driver, as a plan wizard (CLI or dashboard) asks for it. */
export interface OptionQuestion {
  key: string
  /** `<driver> <key> — <description>`. */
  message: string
  kind: 'text' | 'secret' | 'boolean' | 'number' | 'choice'
  required: boolean
  /** Asked only when the user wants the advanced options. */
  advanced: boolean
  /** For `choice`: the schema's enum, or what the driver found on this machine (clouds.yaml entries). */
  choices?: readonly string[]
  default?: string | number | boolean
  /** The environment variable that already supplies it: not asked, not written. */
  fromEnv?: string
  /** Options this one makes unnecessary once answered (a clouds.yaml `cloud` covers the credentials). */
  covers?: readonly string[]
  /** For secrets: the variable the plan will reference (`${env:NAME}`). */
  envName?: string
}

type Prop = { type?: string; description?: string; enum?: string[]; default?: unknown }

/**
 * The questions for a driver's options: essential ones first (the driver's setup hints, else the
 * required ones, else all), the rest marked advanced; options the environment supplies are marked so. Local
 * only: reads the schema, the hints and the environment, connects to nothing.
 */
export async function draftQuestions(
  registry: DriverRegistry,
  driver: string,
  role: 'source' | 'destination',
  env: Record<string, string | undefined>,
): Promise<OptionQuestion[]> {
  const module = await registry.load(driver, role)
  const schema = module.optionsSchema as { properties?: Record<string, Prop>; required?: string[] }
  const hints = module.setup ?? {}
  const props = Object.entries(schema.properties ?? {}).filter(
    ([key, p]) => key !== 'baseDir' && ['string', 'boolean', 'integer', 'number'].includes(p.type ?? ''),
  )
  // Without hints the required options are the essential ones; with none required, all are.
  const essential = hints.essential ?? (schema.required?.length ? schema.required : props.map(([key]) => key))
  const rank = (key: string) => (essential.includes(key) ? essential.indexOf(key) : essential.length)
  return props
    .sort(([a], [b]) => rank(a) - rank(b))
    .map(([key, prop]) =>
      question(module, key, prop, { required: schema.required?.includes(key) ?? false, advanced: !essential.includes(key), env }),
    )
}

function question(
  module: DriverModule,
  key: string,
  prop: Prop,
  o: { required: boolean; advanced: boolean; env: Record<string, string | undefined> },
): OptionQuestion {
  const hints = module.setup ?? {}
  const secret = module.secretOptions?.includes(key) ?? /(password|secret|token)$/i.test(key)
  const found = hints.choices?.(key, o.env)
  const choices = prop.enum ?? (found?.length ? found : undefined)
  const fromEnv = hints.env?.[key]?.find((name) => o.env[name])
  return {
    key,
    message: `${module.name} ${key}${prop.description ? ` — ${prop.description}` : ''}`,
    kind: secret ? 'secret' : choices ? 'choice' : prop.type === 'boolean' ? 'boolean' : prop.type === 'string' ? 'text' : 'number',
    required: o.required,
    advanced: o.advanced,
    ...(choices ? { choices } : {}),
    ...(prop.default !== undefined && typeof prop.default !== 'object' ? { default: prop.default as string | number | boolean } : {}),
    ...(fromEnv ? { fromEnv } : {}),
    ...(hints.covers?.[key] ? { covers: hints.covers[key] } : {}),
    ...(secret
      ? { envName: `GUTS_${module.name.toUpperCase().replace(/-/g, '_')}_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}` }
      : {}),
  }
}

/**
 * A plan from a draft, as YAML: the mode checked against what the source can do (GUTS_USAGE),
 * then the whole plan validated like `validate` does (GUTS_PLAN_INVALID with every problem).
 */
type Mode = NonNullable<PlanDraft['mode']>

/** The export modes a source can do (cold, snapshot, warm), from its declared capabilities. */
export async function draftModes(registry: DriverRegistry, driver: string): Promise<Mode[]> {
  const caps = await sourceCapabilitiesOf(registry, driver)
  return (['cold', 'snapshot', 'warm'] as const).filter((mode) => !modeProblem(caps, mode))
}

async function sourceCapabilitiesOf(registry: DriverRegistry, driver: string): Promise<Partial<SourceCapabilities> | undefined> {
  return (await registry.load(driver, 'source')).capabilities as Partial<SourceCapabilities> | undefined
}

export async function draftPlan(
  registry: DriverRegistry,
  draft: PlanDraft,
  file: string,
  validate: (text: string, file: string) => Promise<PlanCheck>,
): Promise<string> {
  if (draft.mode) {
    const problem = modeProblem(await sourceCapabilitiesOf(registry, draft.source.driver), draft.mode)
    if (problem)
      throw new GutsError('GUTS_USAGE', `The ${draft.source.driver} source cannot do mode ${draft.mode}: ${problem}.`, {
        details: { option: 'mode' },
      })
  }
  const text = buildPlanYaml(draft)
  const check = await validate(text, file)
  if (!check.plan) throw planInvalidError(file, check.issues)
  return text
}
