import { readFile } from 'node:fs/promises'
import { GutsError } from '@guts/sdk'

/** Reads a plan file; a missing or unreadable one is a usage error (exit 2) that names the path. */
export async function readPlanFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new GutsError(
      'GUTS_USAGE',
      code === 'ENOENT' ? `Plan file ${path} does not exist.` : `Cannot read plan file ${path} (${code}).`,
      {
        suggestions: ['Write one with `guts plan init`, or see examples/quickstart.yaml.'],
      },
    )
  }
}
