import { existsSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { makeSampleOva } from '../fixtures/make-sample-ova.js'
import { runCli, tempDir } from '../helpers/cli.js'
import { OUTPUT_SCHEMAS } from '../../src/cli/output-schemas.js'

/** The user-facing flow, through the real CLI: plan in, qcow2 + manifest out, state and exit codes. */
describe('guts migrate (files → local)', () => {
  let dir: string
  const plan = (extra = '') => `version: 1
name: e2e
source:
  driver: files
  path: sample.ova
destination:
  driver: local
  directory: out
defaults:
  networks: [{ from: "VM Network", to: private }]
vms:
  - name: sample
${extra}`

  beforeAll(async () => {
    dir = tempDir()
    await makeSampleOva(dir, { name: 'sample', disks: [{ sizeMiB: 16 }, { sizeMiB: 8 }] })
  })

  it('migrates, verifies, records history and exits 0', async () => {
    const dataDir = tempDir()
    writeFileSync(join(dir, 'plan.yaml'), plan())
    const r = await runCli(['migrate', join(dir, 'plan.yaml')], { dataDir })
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.not.stringMatching(/at .*\.js:\d+/) }) // no stack traces
    expect(r.stdout).toMatch(/disk-0: destination content equals the source/)
    expect(readdirSync(join(dir, 'out', 'sample')).sort()).toEqual(['sample-disk0.qcow2', 'sample-disk1.qcow2', 'vm.json'])
    const list = await runCli(['migration', 'list', '--json'], { dataDir })
    expect(JSON.parse(list.stdout)).toMatchObject([{ name: 'e2e', status: 'succeeded', vms: [{ name: 'sample', status: 'succeeded' }] }])
    expect(OUTPUT_SCHEMAS['migration:list']!.parse(JSON.parse(list.stdout))).toHaveLength(1)
    const show = await runCli(['migration', 'show', JSON.parse(list.stdout)[0].id, '--json', '--events'], { dataDir })
    expect(OUTPUT_SCHEMAS['migration:show']!.parse(JSON.parse(show.stdout))).toMatchObject({
      status: 'succeeded',
      events: expect.arrayContaining([expect.objectContaining({ type: 'vm.succeeded' })]),
    })
  })

  it('emits NDJSON events and a final report with --json', async () => {
    const dataDir = tempDir()
    const out = tempDir()
    writeFileSync(join(dir, 'plan-json.yaml'), plan().replace('directory: out', `directory: ${out}`))
    const r = await runCli(['migrate', join(dir, 'plan-json.yaml'), '--json'], { dataDir })
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' })
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; report?: { status: string; vms: { disks: unknown[] }[] } })
    expect(lines.map((l) => l.type)).toEqual(
      expect.arrayContaining(['migration.started', 'vm.stage', 'disk.done', 'vm.succeeded', 'migration.finished', 'report']),
    )
    const report = lines.at(-1)!.report!
    expect(OUTPUT_SCHEMAS.migrate!.safeParse(lines.at(-1)).success).toBe(true)
    expect(report.status).toBe('succeeded')
    expect(report.vms[0]!.disks).toHaveLength(2)
  })

  it('reports five plan mistakes with line:col, exits 2 and creates nothing', async () => {
    const dataDir = join(tempDir(), 'state')
    const bad = `version: 1
name: bad plan
source:
  driver: files
  path: sample.ova
  colour: blue
destination:
  driver: local
  directory: never-created
policy:
  concurrency: 0
  onFailure: explode
vms:
  - name: sample
    bootFrom: floppy
`
    writeFileSync(join(dir, 'bad.yaml'), bad)
    const r = await runCli(['migrate', join(dir, 'bad.yaml')], { dataDir })
    expect(r.code).toBe(2)
    const located = r.stderr.split('\n').filter((l) => /bad\.yaml:\d+:\d+ /.test(l))
    expect(located).toHaveLength(5)
    expect(r.stderr).toMatch(/bad\.yaml:6:3 source\.colour: unknown option "colour"/)
    expect(r.stderr).toMatch(/bad\.yaml:15:15 vms\[0\]\.bootFrom:/)
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/)
    expect(existsSync(dataDir) ? readdirSync(dataDir, { recursive: true }) : []).toEqual([])
    expect(existsSync(join(dir, 'never-created'))).toBe(false)
  })

  it('fails with exit 2 and names the variable when a ${env:…} reference is unset', async () => {
    const dataDir = join(tempDir(), 'state')
    writeFileSync(join(dir, 'env.yaml'), plan().replace('directory: out', 'directory: ${env:GUTS_TEST_UNSET_DIR}'))
    const r = await runCli(['migrate', join(dir, 'env.yaml')], { dataDir })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/env\.yaml:8:14 destination\.directory: environment variable GUTS_TEST_UNSET_DIR is not set/)
    expect(existsSync(dataDir)).toBe(false)
  })

  it('fails a VM that is not at the source and exits 1, other VMs still run (68 when partial)', async () => {
    const dataDir = tempDir()
    const out = tempDir()
    writeFileSync(join(dir, 'partial.yaml'), plan('  - name: ghost\n').replace('directory: out', `directory: ${out}`))
    const r = await runCli(['migrate', join(dir, 'partial.yaml')], { dataDir })
    expect(r.stdout).toMatch(/ghost FAILED at discover: No VM named "ghost"/)
    expect(r.code).toBe(68)
  })
})
