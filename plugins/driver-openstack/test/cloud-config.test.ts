import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { configCandidates, deepMerge, fromEnv, loadCloudConfig, toCloudConfig } from '../src/client/cloud-config.js'

function fixture(): { dir: string; home: string } {
  const dir = mkdtempSync(join(tmpdir(), 'guts-os-config-'))
  const home = join(dir, 'home')
  mkdirSync(join(home, '.config', 'openstack'), { recursive: true })
  return { dir, home }
}

const CLOUDS = `
clouds:
  prod:
    auth:
      auth_url: https://keystone.example.com:5000/v3
      username: alice
      project_name: web
      user_domain_name: Users
      project_domain_name: Projects
    region_name: RegionTwo
    interface: internal
    cacert: /etc/ssl/ca.pem
  lab:
    auth:
      auth_url: http://127.0.0.1:5000
      application_credential_id: abc123
      application_credential_secret: s3cret-app
    auth_type: v3applicationcredential
    verify: false
`
const SECURE = `
clouds:
  prod:
    auth:
      password: hunter2-secret
`

describe('cloud config', () => {
  it('searches OS_CLIENT_CONFIG_FILE, ./, ~/.config/openstack and /etc/openstack in that order', () => {
    expect(configCandidates('clouds.yaml', { OS_CLIENT_CONFIG_FILE: 'my.yaml' }, '/work', '/home/u')).toEqual([
      '/work/my.yaml',
      '/work/clouds.yaml',
      '/home/u/.config/openstack/clouds.yaml',
      '/etc/openstack/clouds.yaml',
    ])
    expect(configCandidates('secure.yaml', { OS_CLIENT_SECURE_FILE: '/s.yaml' }, '/work', '/home/u')[0]).toBe('/s.yaml')
  })

  it('merges secure.yaml over clouds.yaml and reads every setting of the selected cloud', () => {
    const { dir, home } = fixture()
    writeFileSync(join(home, '.config', 'openstack', 'clouds.yaml'), CLOUDS)
    writeFileSync(join(home, '.config', 'openstack', 'secure.yaml'), SECURE)
    const c = loadCloudConfig({ cloud: 'prod' }, { env: {}, cwd: dir, home })
    expect(c.authUrl).toBe('https://keystone.example.com:5000/v3')
    expect(c.auth).toEqual({ type: 'password', username: 'alice', password: 'hunter2-secret', userDomainName: 'Users' })
    expect(c.project).toEqual({ name: 'web', domainName: 'Projects' })
    expect(c).toMatchObject({ region: 'RegionTwo', interface: 'internal', caCert: '/etc/ssl/ca.pem', insecure: false })
    expect(c.source).not.toContain('hunter2')
  })

  it('selects the cloud from OS_CLOUD, and driver options override single values', () => {
    const { dir, home } = fixture()
    writeFileSync(join(dir, 'clouds.yaml'), CLOUDS)
    writeFileSync(join(dir, 'secure.yaml'), SECURE)
    const c = loadCloudConfig({ region: 'RegionOne', password: 'from-plan' }, { env: { OS_CLOUD: 'prod' }, cwd: dir, home })
    expect(c.region).toBe('RegionOne')
    expect(c.auth).toMatchObject({ password: 'from-plan' })
  })

  it('reads application credentials and verify: false', () => {
    const { dir, home } = fixture()
    writeFileSync(join(dir, 'clouds.yaml'), CLOUDS)
    const c = loadCloudConfig({ cloud: 'lab' }, { env: {}, cwd: dir, home })
    expect(c.auth).toEqual({ type: 'applicationCredential', id: 'abc123', secret: 's3cret-app' })
    expect(c.project).toBeUndefined()
    expect(c.insecure).toBe(true)
  })

  it('names the clouds a file has when the wanted one is missing', () => {
    const { dir, home } = fixture()
    writeFileSync(join(dir, 'clouds.yaml'), CLOUDS)
    expect(() => loadCloudConfig({ cloud: 'nope' }, { env: {}, cwd: dir, home })).toThrow(/Cloud "nope" is not in .*prod, lab/)
  })

  it('falls back to OS_* variables without a cloud', () => {
    const { dir, home } = fixture()
    const env = {
      OS_AUTH_URL: 'http://k:5000/v3',
      OS_USERNAME: 'bob',
      OS_PASSWORD: 'pw-secret',
      OS_PROJECT_NAME: 'demo',
      OS_USER_DOMAIN_NAME: 'Default',
      OS_PROJECT_DOMAIN_NAME: 'Default',
      OS_REGION_NAME: 'R1',
      OS_INTERFACE: 'publicURL',
      OS_INSECURE: 'true',
      OS_CACERT: '/ca.pem',
    }
    const c = loadCloudConfig({}, { env, cwd: dir, home })
    expect(c).toMatchObject({
      authUrl: 'http://k:5000/v3',
      region: 'R1',
      interface: 'public',
      insecure: true,
      caCert: '/ca.pem',
      source: 'OS_* environment variables',
    })
    expect(c.auth).toMatchObject({ type: 'password', username: 'bob', password: 'pw-secret' })
    expect(c.project).toEqual({ name: 'demo', domainName: 'Default' })
  })

  it('says which setting is missing, without echoing secrets', () => {
    expect(() => toCloudConfig({ ...fromEnv({ OS_USERNAME: 'x', OS_PASSWORD: 'pw' }) }, 'env')).toThrow(/no auth URL/)
    expect(() => toCloudConfig({ authUrl: 'http://k', username: 'x' }, 'env')).toThrow(/no password/)
    expect(() => toCloudConfig({ authUrl: 'http://k', password: 'pw', interface: 'weird' }, 'env')).toThrow(/not public, internal or admin/)
  })

  it('deep-merges nested maps and lets scalars replace', () => {
    expect(deepMerge({ a: { b: 1, c: 2 }, d: 1 }, { a: { c: 3 }, d: 2 })).toEqual({ a: { b: 1, c: 3 }, d: 2 })
  })
})
