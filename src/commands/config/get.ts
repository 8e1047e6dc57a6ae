import { Args } from '@oclif/core'
import { BaseCommand } from '../../cli/base-command.js'
import { openUserSettings, SETTING_KEYS } from '../../core/config/user-settings.js'

export default class ConfigGet extends BaseCommand<typeof ConfigGet> {
  static override summary = 'Show your user settings (all, or one)'
  static override description = `Settings: ${SETTING_KEYS.join(', ')}. Project-wide defaults and endpoint profiles live in guts.config.yaml instead.`
  static override args = { key: Args.string({ description: 'A setting name', options: [...SETTING_KEYS] }) }

  async run(): Promise<Record<string, unknown>> {
    const { args } = await this.parse(ConfigGet)
    const settings = await openUserSettings()
    const values = args.key ? { [args.key]: settings.get(args.key as (typeof SETTING_KEYS)[number]) } : settings.all()
    for (const key of args.key ? [args.key] : SETTING_KEYS) this.log(`${key} = ${values[key as keyof typeof values] ?? '(not set)'}`)
    if (!args.key) this.log(`(stored in ${settings.path})`)
    return values as Record<string, unknown>
  }
}
