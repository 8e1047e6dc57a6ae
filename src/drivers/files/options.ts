import type { DiskFormat, Firmware, JsonSchema, OsFamily } from '@guts/sdk'

export interface FilesVmOption {
  name: string
  ova?: string
  ovf?: string
  disks?: { path: string; format?: DiskFormat }[]
  cpus?: number
  memoryMiB?: number
  firmware?: Firmware
  os?: OsFamily
  nics?: { mac?: string; network: string }[]
}

export interface FilesOptions {
  path?: string
  vms?: FilesVmOption[]
  baseDir?: string
}

const FORMATS = ['raw', 'qcow2', 'vmdk', 'vhdx', 'vpc']

export const filesOptionsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  description:
    'VMs given as files. `path` is scanned: a .ova or .ovf file is one VM; a directory yields one VM per .ova/.ovf in it and one per sub-folder holding an .ovf/.ova or disk images. VMs found by scanning are named after their file or folder. `vms` lists VMs explicitly and wins over a scanned VM of the same name.',
  properties: {
    path: { type: 'string', minLength: 1, description: 'A .ova file, a .ovf file, or a directory to scan for them and for VM folders.' },
    baseDir: { type: 'string', description: "Set by guts to the plan's directory; relative paths resolve against it." },
    vms: {
      type: 'array',
      description:
        'Explicit VMs: each gives exactly one of `ova`, `ovf` or `disks`. cpus/memoryMiB/firmware/os/nics override what the package says.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: {
          name: { type: 'string', minLength: 1, description: 'The VM name plans refer to; also its stable id.' },
          ova: { type: 'string', minLength: 1, description: 'An OVA package (tar) holding one VM.' },
          ovf: { type: 'string', minLength: 1, description: 'An OVF descriptor; its disk files are read from its directory.' },
          disks: {
            type: 'array',
            description: 'Disk images in boot order (the first is the boot disk).',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['path'],
              properties: {
                path: { type: 'string', minLength: 1 },
                format: { type: 'string', enum: FORMATS, description: 'Detected with qemu-img when omitted (vpc = VHD).' },
              },
            },
          },
          cpus: { type: 'integer', minimum: 1, description: 'Default: from the OVF, else 1.' },
          memoryMiB: { type: 'integer', minimum: 1, description: 'Default: from the OVF, else 1024.' },
          firmware: { type: 'string', enum: ['bios', 'uefi'], description: 'Default: from the OVF, else bios.' },
          os: { type: 'string', enum: ['linux', 'windows', 'other'], description: 'Default: from the OVF, else other.' },
          nics: {
            type: 'array',
            description: 'Replaces the NICs of the package. A NIC without mac gets a stable one derived from the VM name and NIC index.',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['network'],
              properties: {
                mac: { type: 'string', pattern: '^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$' },
                network: { type: 'string', minLength: 1 },
              },
            },
          },
        },
      },
    },
  },
}
