import { describe, expect, it } from 'vitest'
import { checkPlan } from '../../src/core/plan/load-plan.js'
import { formatIssue } from '../../src/core/plan/issues.js'
import { DriverRegistry } from '../../src/drivers/registry.js'

const registry = DriverRegistry.builtin()
const check = (text: string, config = {}) => checkPlan(text, '/plans/plan.yaml', { registry, config })

const GOOD = `version: 1
name: wave-1
source:
  driver: files
  path: vms/
destination:
  driver: local
  directory: out
vms:
  - name: web-01
`

describe('plan validation', () => {
  it('accepts a valid plan and fills in defaults', async () => {
    const r = await check(GOOD)
    expect(r.issues).toEqual([])
    expect(r.plan?.policy).toEqual({ concurrency: 4, perHost: 2, diskConcurrency: 2, onFailure: 'rollback', verify: true })
  })

  it('reports five different mistakes at once, each with line:col and path', async () => {
    const text = `version: 1
name: wave 1
source:
  driver: files
  path: vms/
  pathh: typo
destination:
  driver: local
  directory: out
defaults:
  flavour: m1.small
policy:
  concurrency: many
vms:
  - name: web-01
    networks:
      - from: "VM Network"
        to: 42
`
    const r = await check(text)
    const lines = r.issues.map((i) => formatIssue('plan.yaml', i))
    expect(r.plan).toBeUndefined()
    expect(lines).toEqual([
      expect.stringMatching(/^plan\.yaml:2:7 name: /),
      expect.stringMatching(/^plan\.yaml:6:3 source\.pathh: unknown option "pathh" for driver "files"/),
      expect.stringMatching(/^plan\.yaml:11:3 defaults\.flavour: unknown key "flavour"/),
      expect.stringMatching(/^plan\.yaml:13:16 policy\.concurrency: expected number, received string/),
      expect.stringMatching(/^plan\.yaml:18:13 vms\[0\]\.networks\[0\]\.to: expected string, received number/),
    ])
  })

  it('reports YAML syntax errors with their position', async () => {
    const r = await check('version: 1\nname: [unclosed\n')
    expect(r.issues[0]).toMatchObject({ severity: 'error', line: expect.any(Number) })
    expect(r.plan).toBeUndefined()
  })

  it('names an unknown driver and the known ones', async () => {
    const r = await check(GOOD.replace('driver: files', 'driver: vmwre'))
    expect(r.issues).toHaveLength(1)
    expect(r.issues[0]).toMatchObject({ path: 'source.driver', line: 4, col: 11 })
    expect(r.issues[0]!.message).toMatch(/No source driver named "vmwre"\. Known: files/)
  })

  it('refuses a destination driver used as a source', async () => {
    const r = await check(GOOD.replace('driver: files', 'driver: local'))
    expect(r.issues.map((i) => i.message).join('\n')).toMatch(/is a destination driver and cannot be used as a source/)
  })

  it('checks reference syntax but leaves resolution to run time', async () => {
    const r = await check(GOOD.replace('path: vms/', 'path: ${env:VMS_DIR}/x\n  note: ${secret:foo}'))
    const messages = r.issues.map((i) => `${i.path} ${i.message}`)
    expect(messages).toContainEqual(expect.stringMatching(/source\.note unknown reference \$\{secret:foo\}/))
    expect(messages.some((m) => m.includes('VMS_DIR'))).toBe(false)
  })

  it('needs exactly one selector per VM and rejects duplicates', async () => {
    const r = await check(GOOD.replace('  - name: web-01\n', '  - name: web-01\n    id: vm-1\n  - name: db\n  - name: db\n'))
    expect(r.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      expect.stringMatching(/^vms\[0\]: give exactly one of name, id or match/),
      expect.stringMatching(/^vms\[2\]\.name: "db" is already listed at vms\[1\]/),
    ])
  })

  it('fills endpoints from config profiles and reports unknown profiles', async () => {
    const config = { profiles: { destinations: { lab: { driver: 'local', directory: '/srv/out' } } } }
    const ok = await check(GOOD.replace('  driver: local\n  directory: out\n', '  profile: lab\n'), config)
    expect(ok.issues).toEqual([])
    expect(ok.plan?.destination).toMatchObject({ driver: 'local', directory: '/srv/out', profile: 'lab' })
    const bad = await check(GOOD.replace('  driver: local\n  directory: out\n', '  profile: prod\n'), config)
    expect(bad.issues[0]).toMatchObject({ path: 'destination.profile', line: 7 })
    expect(bad.issues[0]!.message).toMatch(/no destination profile "prod".*known: lab/)
  })
})
