import { isAbsolute, resolve } from 'node:path'
import { GutsError, type DiskFormat, type JsonSchema, type TargetMapping } from '@guts/sdk'

export interface LocalOptions {
  directory: string
  format?: 'qcow2' | 'raw'
  baseDir?: string
}

export const localOptionsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['directory'],
  description: 'Writes each VM to <directory>/<name>/: one image per disk (<name>-disk<N>.<format>) and a vm.json manifest.',
  properties: {
    directory: { type: 'string', minLength: 1, description: 'Where VM folders are created; made if missing.' },
    format: {
      type: 'string',
      enum: ['qcow2', 'raw'],
      default: 'qcow2',
      description: "Disk image format; a VM mapping's diskFormat overrides it.",
    },
    baseDir: { type: 'string', description: "Set by guts to the plan's directory; a relative directory resolves against it." },
  },
}

export const ACCEPTED_FORMATS: readonly DiskFormat[] = ['qcow2', 'raw']

export function resolveDirectory(options: LocalOptions): string {
  if (!options?.directory) {
    throw new GutsError('GUTS_PLAN_INVALID', 'The local destination needs `directory`: where to write the VMs.', {
      suggestions: ['Add `directory: ./out` under the destination options.'],
    })
  }
  return isAbsolute(options.directory) ? options.directory : resolve(options.baseDir ?? process.cwd(), options.directory)
}

/** The format a VM's disks are written in: the mapping's diskFormat, else the driver option. */
export function targetFormat(options: LocalOptions, mapping: Pick<TargetMapping, 'diskFormat'>): DiskFormat {
  return mapping.diskFormat ?? options.format ?? 'qcow2'
}

/**
 * The VM's folder name is the mapping's name; refuse anything that would escape `directory`
 * or hide (`..`, `/`, a leading dot), since rollback deletes inside that folder.
 */
export function checkVmName(name: string): string | undefined {
  if (!name || name === '.' || name === '..' || name.startsWith('.') || /[/\\\0]/.test(name)) {
    return `The VM name "${name}" cannot be used as a folder name under the local directory; pick a name without slashes and not starting with a dot.`
  }
  return undefined
}
