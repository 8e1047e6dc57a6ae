import { GutsError } from '@guts/sdk'

/** One problem in a plan, with where it is. */
export interface PlanIssue {
  /** `vms[2].networks[0].to`; empty for the whole document. */
  path: string
  message: string
  line?: number
  col?: number
  severity: 'error' | 'warning'
}

export type PathSegment = string | number

/** `['vms', 2, 'networks', 0, 'to']` → `vms[2].networks[0].to` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`
    else out += out ? `.${String(seg)}` : String(seg)
  }
  return out
}

/** `plan.yaml:14:7 vms[0].flavor: expected string` */
export function formatIssue(file: string, issue: PlanIssue): string {
  const where = issue.line ? `${file}:${issue.line}:${issue.col ?? 1}` : file
  const prefix = issue.severity === 'warning' ? 'warning: ' : ''
  return `${where} ${prefix}${issue.path ? `${issue.path}: ` : ''}${issue.message}`
}

export function sortIssues(issues: PlanIssue[]): PlanIssue[] {
  return [...issues].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0))
}

/** The error a CLI or the REST API reports for an invalid plan: every problem, one per line. */
export function planInvalidError(file: string, issues: PlanIssue[]): GutsError {
  const errors = issues.filter((i) => i.severity === 'error')
  const lines = sortIssues(errors).map((i) => formatIssue(file, i))
  return new GutsError('GUTS_PLAN_INVALID', `${file} has ${errors.length} problem${errors.length === 1 ? '' : 's'}:\n${lines.join('\n')}`, {
    suggestions: ['Fix the lines above, then run `guts plan validate` again.', 'Run `guts plan schema` for the full plan format.'],
    details: { issues: errors.map((i) => ({ ...i, file })) },
  })
}
