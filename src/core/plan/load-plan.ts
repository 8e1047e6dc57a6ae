import { dirname } from 'node:path'
import { isGutsError } from '@guts/sdk'
import type { GutsConfig } from '../config/config-schema.js'
import type { DriverRegistry } from '../../drivers/registry.js'
import { checkDriverOptions, driverOptions } from './driver-options.js'
import { formatPath, sortIssues, type PathSegment, type PlanIssue } from './issues.js'
import { parseLocated, type LocatedDocument } from './locate.js'
import { checkReferenceSyntax } from './references.js'
import { planSchema, type Plan } from './schema.js'

export interface PlanCheck {
  file: string
  baseDir: string
  /** Present when there are no errors (warnings allowed). */
  plan?: Plan
  issues: PlanIssue[]
  located: LocatedDocument
}

/**
 * Parses and checks a plan completely — YAML syntax, the plan schema, profiles, reference syntax,
 * driver names and each driver's own options — and reports every problem with its line and column.
 * Nothing is connected to and nothing is created.
 */
export async function checkPlan(
  text: string,
  file: string,
  env: { registry: DriverRegistry; config?: GutsConfig; baseDir?: string },
): Promise<PlanCheck> {
  const located = parseLocated(text)
  const baseDir = env.baseDir ?? dirname(file)
  const issues: PlanIssue[] = []
  const add = (path: PathSegment[], message: string, key?: string, severity: 'error' | 'warning' = 'error') =>
    issues.push({ path: formatPath(path), message, severity, ...located.locate(path, key ? { key } : {}) })

  for (const e of located.doc.errors) {
    const pos = e.linePos?.[0] ?? located.lineCounter.linePos(e.pos[0])
    issues.push({ path: '', message: e.message.split('\n')[0] ?? e.message, severity: 'error', line: pos.line, col: pos.col })
  }
  if (issues.length) return { file, baseDir, issues, located }

  const raw = located.doc.toJS() as unknown
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    add([], 'a plan is a YAML mapping with version, name, source, destination and vms')
    return { file, baseDir, issues, located }
  }
  const merged = applyConfig(raw as Record<string, unknown>, env.config, add)

  const parsed = planSchema.safeParse(merged)
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path as PathSegment[]
      if (issue.code === 'unrecognized_keys') for (const key of issue.keys) add([...path, key], `unknown key "${key}"`, key)
      else add(path, issue.message.replace(/^Invalid input: /, ''))
    }
  }
  for (const r of checkReferenceSyntax(raw)) add(r.path, r.message)

  const plan = parsed.success ? parsed.data : undefined
  const endpoints = [
    ['source', 'source'],
    ['destination', 'destination'],
  ] as const
  for (const [key, role] of endpoints) {
    const endpoint = (merged as Record<string, Record<string, unknown> | undefined>)[key]
    const name = typeof endpoint?.driver === 'string' ? endpoint.driver : undefined
    if (!name) continue
    try {
      const module = await env.registry.load(name, role)
      for (const p of checkDriverOptions(module, driverOptions(endpoint!), [key])) add(p.path, p.message, p.key)
    } catch (error) {
      if (!isGutsError(error)) throw error
      add([key, 'driver'], error.message)
    }
  }
  checkSemantics(merged, add)

  const sorted = sortIssues(issues)
  const ok = !sorted.some((i) => i.severity === 'error')
  return { file, baseDir, issues: sorted, located, ...(ok && plan ? { plan: plan as Plan } : {}) }
}

// --- internal ---

type Add = (path: PathSegment[], message: string, key?: string, severity?: 'error' | 'warning') => void

/** Profiles fill in endpoint settings, config defaults/policy fill in the plan's; the plan always wins. */
function applyConfig(raw: Record<string, unknown>, config: GutsConfig | undefined, add: Add): Record<string, unknown> {
  const out = { ...raw }
  const profiles = { source: config?.profiles?.sources ?? {}, destination: config?.profiles?.destinations ?? {} }
  for (const key of ['source', 'destination'] as const) {
    const endpoint = raw[key]
    if (!endpoint || typeof endpoint !== 'object') continue
    const profileName = (endpoint as { profile?: unknown }).profile
    if (typeof profileName !== 'string') continue
    const profile = profiles[key][profileName]
    if (!profile) {
      const known = Object.keys(profiles[key])
      add([key, 'profile'], `no ${key} profile "${profileName}" in the guts config${known.length ? ` (known: ${known.join(', ')})` : ''}`)
      continue
    }
    out[key] = { ...profile, ...(endpoint as object) }
  }
  if (config?.defaults) out.defaults = { ...config.defaults, ...((raw.defaults as object | undefined) ?? {}) }
  if (config?.policy) out.policy = { ...config.policy, ...((raw.policy as object | undefined) ?? {}) }
  return out
}

/** Cross-entry rules the schema cannot express; tolerant of shapes the schema already rejected. */
function checkSemantics(raw: Record<string, unknown>, add: Add): void {
  const vms = (Array.isArray(raw.vms) ? raw.vms : []).map((v) => (v && typeof v === 'object' ? v : {}) as Partial<Plan['vms'][number]>)
  const seen = new Map<string, number>()
  vms.forEach((vm, i) => {
    const key = vm.name ?? vm.id
    if (typeof key === 'string') {
      const first = seen.get(key)
      if (first !== undefined) add(['vms', i, vm.name ? 'name' : 'id'], `"${key}" is already listed at vms[${first}]`)
      else seen.set(key, i)
    }
    const nets = Array.isArray(vm.networks) ? vm.networks : []
    const froms = new Set<string>()
    nets.forEach((n, j) => {
      if (typeof n?.from !== 'string') return
      if (froms.has(n.from)) add(['vms', i, 'networks', j, 'from'], `network "${n.from}" is mapped twice`)
      froms.add(n.from)
    })
  })
  const targets = new Map<string, number>()
  vms.forEach((vm, i) => {
    const t = vm.targetName
    if (typeof t !== 'string') return
    if (targets.has(t)) add(['vms', i, 'targetName'], `targetName "${t}" is already used by vms[${targets.get(t)}]`)
    targets.set(t, i)
  })
}
