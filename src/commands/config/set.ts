import { Args } from '@oclif/core'
import { BaseCommand } from '../../cli/base-command.js'
import { openUserSettings, SETTING_KEYS } from '../../core/config/user-settings.js'

export default class ConfigSet extends BaseCommand<typeof ConfigSet> {
  static override summary = 'Set one of your user settings'
  static override examples = ['<%= config.bin %> config set dataDir /srv/guts', '<%= config.bin %> config set output plain']
  static override args = {
    key: Args.string({ description: 'Setting name', required: true, options: [...SETTING_KEYS] }),
    value: Args.string({ description: 'Its value', required: true }),
  }

  async run(): Promise<Record<string, unknown>> {
    const { args } = await this.parse(ConfigSet)
    const settings = await openUserSettings()
    settings.set(args.key, args.value)
    this.log(`${args.key} = ${args.value}`)
    return { [args.key]: settings.get(args.key as (typeof SETTING_KEYS)[number]) }
  }
}
