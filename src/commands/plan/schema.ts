import { BaseCommand } from '../../cli/base-command.js'

export default class PlanSchema extends BaseCommand<typeof PlanSchema> {
  static override summary = 'Print the JSON Schema of migration plans'
  static override description =
    'For editors (yaml-language-server: `# yaml-language-server: $schema=plan.schema.json`) and CI linters. Driver options are checked by `guts plan validate`.'
  static override examples = ['<%= config.bin %> plan schema > plan.schema.json']

  async run(): Promise<Record<string, unknown>> {
    const schema = await (await this.service()).planSchema()
    this.log(JSON.stringify(schema, null, 2))
    return schema
  }
}
