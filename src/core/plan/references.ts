import { readFileSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import type { PathSegment, PlanIssue } from './issues.js'
import { formatPath } from './issues.js'

/**
 * `${env:NAME}` and `${file:PATH}` in plan strings. They keep secrets out of plans, state and process
 * arguments: the plan stores the reference, and each run (or resume) resolves it again.
 * `$${` writes a literal `${`.
 */
const REF = /\$?\$\{([^}]*)\}/g
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

export interface ReferenceContext {
  env: Record<string, string | undefined>
  /** Directory `${file:relative}` paths start from (the plan's). */
  baseDir: string
}

interface Found {
  path: PathSegment[]
  issue?: string
}

/** Checks reference syntax everywhere (no resolution): `plan validate` reports these without secrets at hand. */
export function checkReferenceSyntax(value: unknown): { path: PathSegment[]; message: string }[] {
  const out: { path: PathSegment[]; message: string }[] = []
  walk(value, [], (s, path) => {
    for (const m of s.matchAll(REF)) {
      if (m[0].startsWith('$$')) continue
      const problem = syntaxProblem(m[1] ?? '')
      if (problem) out.push({ path, message: problem })
    }
  })
  return out
}

/** Resolves every reference; unresolvable ones become issues (never the secret values themselves). */
export function resolveReferences<T>(value: T, ctx: ReferenceContext): { value: T; issues: Found[] } {
  const issues: Found[] = []
  const resolved = map(value, [], (s, path) =>
    s.replace(REF, (whole, body: string) => {
      if (whole.startsWith('$$')) return whole.slice(1)
      const problem = syntaxProblem(body)
      if (problem) {
        issues.push({ path, issue: problem })
        return whole
      }
      const [kind, ...rest] = body.split(':')
      const arg = rest.join(':')
      if (kind === 'env') {
        const v = ctx.env[arg]
        if (v === undefined) issues.push({ path, issue: `environment variable ${arg} is not set (referenced as \${env:${arg}})` })
        return v ?? ''
      }
      const file = isAbsolute(arg) ? arg : resolve(ctx.baseDir, arg)
      try {
        return readFileSync(file, 'utf8').replace(/\r?\n$/, '')
      } catch (e) {
        issues.push({
          path,
          issue: `cannot read ${file} (referenced as \${file:${arg}}): ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
        })
        return ''
      }
    }),
  )
  return { value: resolved as T, issues }
}

export function referenceIssues(found: Found[], locate: (p: PathSegment[]) => { line: number; col: number } | undefined): PlanIssue[] {
  return found.map((f) => ({ path: formatPath(f.path), message: f.issue ?? 'bad reference', severity: 'error', ...locate(f.path) }))
}

/** True when a string is made only of references (so it holds no literal secret). */
export function isOnlyReferences(s: string): boolean {
  return s.replace(REF, '').trim() === '' && /\$\{[^}]*\}/.test(s)
}

// --- internal ---

function syntaxProblem(body: string): string | undefined {
  const idx = body.indexOf(':')
  const kind = idx < 0 ? body : body.slice(0, idx)
  const arg = idx < 0 ? '' : body.slice(idx + 1)
  if (kind === 'env') return ENV_NAME.test(arg) ? undefined : `\${env:${arg}} is not a valid environment variable name`
  if (kind === 'file') return arg ? undefined : '${file:…} needs a path'
  return `unknown reference \${${body}}: use \${env:NAME} or \${file:PATH} (write $\${ for a literal \${)`
}

function walk(value: unknown, path: PathSegment[], visit: (s: string, path: PathSegment[]) => void): void {
  map(value, path, (s, p) => {
    visit(s, p)
    return s
  })
}

function map(value: unknown, path: PathSegment[], fn: (s: string, path: PathSegment[]) => string): unknown {
  if (typeof value === 'string') return value.includes('${') ? fn(value, path) : value
  if (Array.isArray(value)) return value.map((v, i) => map(v, [...path, i], fn))
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, map(v, [...path, k], fn)]))
  }
  return value
}

export { formatPath }
