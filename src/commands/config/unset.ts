import { Args } from '@oclif/core'
import { BaseCommand } from '../../cli/base-command.js'
import { openUserSettings, SETTING_KEYS } from '../../core/config/user-settings.js'

export default class ConfigUnset extends BaseCommand<typeof ConfigUnset> {
  static override summary = 'Remove one of your user settings (back to the default)'
  static override args = { key: Args.string({ description: 'Setting name', required: true, options: [...SETTING_KEYS] }) }

  async run(): Promise<Record<string, unknown>> {
    const { args } = await this.parse(ConfigUnset)
    ;(await openUserSettings()).unset(args.key)
    this.log(`${args.key} unset`)
    return { [args.key]: null }
  }
}
