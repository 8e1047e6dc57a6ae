import { homedir } from 'node:os'
import { join } from 'node:path'
import { GutsError } from '@guts/sdk'

/**
 * Per-user settings (`guts config set …`), kept with `conf` in `$XDG_CONFIG_HOME/guts/settings.json`.
 * Team settings belong in the project's guts.config.yaml; these are the user's own machine
 * choices. Never secrets: nothing here is encrypted, so secrets stay `${env:…}` references in plans.
 */
export interface UserSettings {
  /** Where guts keeps its state when neither --data-dir nor GUTS_DATA_DIR is given. */
  dataDir?: string
  /** Output of `guts migrate` when neither --json nor a TTY decides: auto | plain | json. */
  output?: 'auto' | 'plain' | 'json'
}

export const SETTING_KEYS = ['dataDir', 'output'] as const
export type SettingKey = (typeof SETTING_KEYS)[number]

const SCHEMA = {
  dataDir: { type: 'string', minLength: 1, pattern: '^/' },
  output: { type: 'string', enum: ['auto', 'plain', 'json'] },
} as const

export function settingsDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CONFIG_HOME
  return join(xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.config'), 'guts')
}

/** Opens the settings store (conf is imported only when a command needs it, to keep start-up fast). */
export async function openUserSettings(env: NodeJS.ProcessEnv = process.env) {
  const { default: Conf } = await import('conf')
  const store = new Conf<UserSettings>({
    projectName: 'guts',
    cwd: settingsDir(env),
    configName: 'settings',
    schema: SCHEMA as never,
    clearInvalidConfig: false,
  })
  return {
    path: store.path,
    all: (): UserSettings => ({ ...store.store }),
    get: <K extends SettingKey>(key: K): UserSettings[K] => store.get(key),
    set(key: string, value: string): void {
      const k = settingKey(key)
      try {
        store.set(k, value as never)
      } catch (error) {
        throw new GutsError('GUTS_USAGE', `Invalid value for ${k}: ${(error as Error).message.replace(/^Config schema violation: /, '')}`, {
          suggestions: [k === 'dataDir' ? 'Give an absolute path.' : 'Use one of: auto, plain, json.'],
        })
      }
    },
    unset: (key: string): void => store.delete(settingKey(key)),
  }
}

function settingKey(key: string): SettingKey {
  if ((SETTING_KEYS as readonly string[]).includes(key)) return key as SettingKey
  throw new GutsError('GUTS_USAGE', `Unknown setting "${key}". Settings: ${SETTING_KEYS.join(', ')}.`)
}
