import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, it } from 'vitest'
import type { SourceDriver } from '@guts/sdk'
import { fakeDestinationDriver, pipelineSuite, readBackFakeDisk, sourceDriverSuite, testMapping } from '@guts/sdk/testing'
// The engine's own disk transfer, so the pipeline suite moves the disks exactly as guts will.
// In a driver's own repository (guts as a devDependency): import { engineTransfer } from 'guts/testing'
import { engineTransfer } from '../../../src/testing.js'
import templateSource from '../src/index.js'

// A source directory like a user would write: two VMs, raw disk files, an access key.
const directory = mkdtempSync(join(tmpdir(), 'guts-template-source-'))
const ACCESS_KEY = 'template-key'
writeFileSync(join(directory, '.access-key'), `${ACCESS_KEY}\n`)
writeFileSync(join(directory, 'web-01-disk0.raw'), pattern(1024 * 1024, 7))
writeFileSync(join(directory, 'web-01-disk1.raw'), pattern(256 * 1024, 13))
writeFileSync(join(directory, 'db-01.raw'), pattern(512 * 1024, 29))
writeVm('web-01', {
  cpus: 2,
  memoryMiB: 2048,
  firmware: 'bios',
  os: { family: 'linux', distro: 'debian', version: '12' },
  disks: [{ path: 'web-01-disk0.raw', controller: 'scsi' }, { path: 'web-01-disk1.raw' }],
  nics: [{ mac: '52:54:00:AA:BB:01', network: 'VM Network', model: 'virtio' }],
})
writeVm('db-01', { cpus: 1, memoryMiB: 1024, firmware: 'uefi', disks: [{ path: 'db-01.raw' }], nics: [] })

afterAll(() => rmSync(directory, { recursive: true, force: true }))

const test = { describe, it, beforeAll, afterAll }
// What the core does with a plan: validated options in, a fresh driver out.
const factory = () => templateSource.create({ directory, accessKey: ACCESS_KEY }) as SourceDriver
const vm = { id: 'web-01', name: 'web-01' }

await sourceDriverSuite({
  test,
  factory,
  fixture: { vm, badCredentials: () => templateSource.create({ directory, accessKey: 'wrong' }) },
})

// Paired with the SDK's fake destination, which writes stream targets to temporary files.
await pipelineSuite({
  test,
  source: { factory, fixture: { vm } },
  destination: { factory: () => fakeDestinationDriver(), mapping: testMapping({ name: 'web-01' }), readBack: readBackFakeDisk },
  transfer: engineTransfer,
})

function writeVm(name: string, description: object): void {
  writeFileSync(join(directory, `${name}.json`), JSON.stringify(description, null, 2))
}

/** Recognisable, non-repeating-looking content; a zero first sector like many real disks. */
function pattern(size: number, seed: number): Buffer {
  const buf = Buffer.alloc(size)
  for (let i = 512; i < size; i++) buf[i] = (i * seed + (i >> 9)) & 0xff
  return buf
}
