import { dirname } from 'node:path'
import { Args } from '@oclif/core'
import { BaseCommand } from '../../cli/base-command.js'
import { readPlanFile } from '../../cli/read-plan.js'
import { formatIssue, type PlanIssue } from '../../core/plan/issues.js'

export default class PlanValidate extends BaseCommand<typeof PlanValidate> {
  static override summary = 'Check a plan and report every problem with its line and column'
  static override description =
    "Checks YAML syntax, the plan schema (unknown keys are errors), profiles, ${env:…}/${file:…} reference syntax, driver names and each driver's own options. Connects to nothing and creates nothing. Exit 0 when valid, 2 when not."
  static override examples = ['<%= config.bin %> plan validate plan.yaml']
  static override args = { plan: Args.string({ description: 'The plan file (YAML)', required: true }) }

  async run(): Promise<{ file: string; valid: boolean; issues: (PlanIssue & { file: string })[] }> {
    const { args } = await this.parse(PlanValidate)
    const text = await readPlanFile(args.plan)
    const check = await (await this.service({ configFrom: dirname(args.plan) })).validatePlan(text, args.plan)
    const errors = check.issues.filter((i) => i.severity === 'error')
    for (const issue of check.issues) this.logToStderr(formatIssue(args.plan, issue))
    if (!errors.length)
      this.log(
        `${args.plan} is valid: ${check.plan?.vms.length ?? 0} VM entr${check.plan?.vms.length === 1 ? 'y' : 'ies'}, ${check.plan?.source.driver} → ${check.plan?.destination.driver}`,
      )
    else this.logToStderr(`${errors.length} problem${errors.length === 1 ? '' : 's'} found.`)
    this.exitCode(errors.length ? 2 : 0)
    return { file: args.plan, valid: errors.length === 0, issues: check.issues.map((i) => ({ file: args.plan, ...i })) }
  }
}
