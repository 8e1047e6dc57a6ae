import { cosmiconfig } from 'cosmiconfig'
import { parse as parseYaml } from 'yaml'
import { GutsError } from '@guts/sdk'
import { formatPath } from '../plan/issues.js'
import { gutsConfigSchema, type GutsConfig } from './config-schema.js'

export interface LoadedConfig {
  config: GutsConfig
  /** The file it came from, when one was found. */
  filepath?: string
}

const SEARCH_PLACES = [
  'guts.config.yaml',
  'guts.config.yml',
  'guts.config.json',
  'guts.config.js',
  'guts.config.mjs',
  '.gutsrc',
  '.gutsrc.yaml',
  '.gutsrc.yml',
  '.gutsrc.json',
]

/**
 * Finds the project config from `from` upwards (cosmiconfig), or loads `explicitPath`.
 * A broken config is a usage error (exit 2), reported with the file and the path of each problem.
 */
export async function loadGutsConfig(options: { from?: string; explicitPath?: string } = {}): Promise<LoadedConfig> {
  const explorer = cosmiconfig('guts', {
    searchPlaces: SEARCH_PLACES,
    searchStrategy: 'global',
    loaders: { '.yaml': (_f, text) => parseYaml(text), '.yml': (_f, text) => parseYaml(text), noExt: (_f, text) => parseYaml(text) },
  })
  let result
  try {
    result = options.explicitPath ? await explorer.load(options.explicitPath) : await explorer.search(options.from)
  } catch (error) {
    throw new GutsError('GUTS_CONFIG_INVALID', `Cannot read the guts config: ${(error as Error).message}`, { cause: error })
  }
  if (!result || result.isEmpty) return { config: {} }
  const parsed = gutsConfigSchema.safeParse(result.config)
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${result.filepath} ${formatPath(i.path) || '(top)'}: ${i.message}`)
    throw new GutsError('GUTS_CONFIG_INVALID', `The guts config has problems:\n${lines.join('\n')}`, {
      suggestions: ['Fix the config file, or use another one.'],
    })
  }
  return { config: parsed.data, filepath: result.filepath }
}
