import { Command } from '@oclif/core'
import { planJsonSchema } from '../../core/plan/schema.js'

export default class PlanSchema extends Command {
  static override summary = 'Print the JSON Schema of migration plans'
  static override description = 'For editors (yaml-language-server: `# yaml-language-server: $schema=plan.schema.json`) and CI linters. Driver options are checked by `guts plan validate`.'
  static override examples = ['<%= config.bin %> plan schema > plan.schema.json']

  async run(): Promise<void> {
    this.log(JSON.stringify(planJsonSchema(), null, 2))
  }
}
