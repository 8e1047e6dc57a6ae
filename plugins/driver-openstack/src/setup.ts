import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import type { SetupHints } from '@guts/sdk'
import { parse } from 'yaml'
import { configCandidates } from './client/cloud-config.js'

/** What a clouds.yaml entry (with secure.yaml) already says, so a wizard does not ask it again. */
const FROM_CLOUD = [
  'authUrl',
  'username',
  'password',
  'projectName',
  'userDomainName',
  'projectDomainName',
  'applicationCredentialId',
  'applicationCredentialSecret',
  'region',
  'interface',
  'caCert',
  'insecure',
]

/**
 * How plan wizards ask for OpenStack settings: the clouds.yaml entries as choices first (a chosen
 * cloud covers the credentials), else the essential OS_* settings; OS_* variables count as given.
 */
export const OPENSTACK_SETUP: SetupHints = {
  essential: ['cloud', 'authUrl', 'username', 'password', 'projectName', 'bootFrom'],
  covers: { cloud: FROM_CLOUD },
  env: {
    cloud: ['OS_CLOUD'],
    authUrl: ['OS_AUTH_URL'],
    username: ['OS_USERNAME'],
    password: ['OS_PASSWORD'],
    projectName: ['OS_PROJECT_NAME'],
    applicationCredentialId: ['OS_APPLICATION_CREDENTIAL_ID'],
    applicationCredentialSecret: ['OS_APPLICATION_CREDENTIAL_SECRET'],
    region: ['OS_REGION_NAME'],
  },
  choices(key, env) {
    if (key !== 'cloud') return undefined
    const path = configCandidates('clouds.yaml', env, process.cwd(), homedir()).find((p) => existsSync(p))
    if (!path) return undefined
    try {
      const clouds = (parse(readFileSync(path, 'utf8')) as { clouds?: Record<string, unknown> } | null)?.clouds
      return clouds ? Object.keys(clouds).sort() : undefined
    } catch {
      return undefined
    }
  },
}
