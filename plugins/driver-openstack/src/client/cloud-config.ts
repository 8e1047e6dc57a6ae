import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { GutsError } from '@guts/sdk'
import { parse } from 'yaml'
import type { CloudOverrides } from '../options.js'

/** Credentials and endpoints of one cloud, whatever they were read from. */
export interface CloudConfig {
  authUrl: string
  auth:
    | { type: 'password'; username?: string; userId?: string; password: string; userDomainName?: string; userDomainId?: string }
    | { type: 'applicationCredential'; id?: string; name?: string; secret: string; username?: string; userDomainName?: string }
  /** Project scope (password auth; application credentials carry their own). */
  project?: { name?: string; id?: string; domainName?: string; domainId?: string }
  region?: string
  interface: 'public' | 'internal' | 'admin'
  /** PEM CA bundle path. */
  caCert?: string
  insecure: boolean
  /** Which file or source it came from, for messages (never the secrets). */
  source: string
}

export type { CloudOverrides }

type Env = Record<string, string | undefined>
type Raw = Record<string, unknown>

/** Where openstacksdk looks for clouds.yaml (or secure.yaml), first hit wins. */
export function configCandidates(file: 'clouds.yaml' | 'secure.yaml', env: Env, cwd: string, home: string): string[] {
  const explicit = file === 'clouds.yaml' ? env.OS_CLIENT_CONFIG_FILE : env.OS_CLIENT_SECURE_FILE
  return [
    ...(explicit ? [resolve(cwd, explicit)] : []),
    join(cwd, file),
    join(home, '.config', 'openstack', file),
    join('/etc/openstack', file),
  ]
}

/** Deep merge, secure.yaml over clouds.yaml, as openstacksdk does. */
export function deepMerge(base: Raw, over: Raw): Raw {
  const out: Raw = { ...base }
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key]
    out[key] = isRecord(prev) && isRecord(value) ? deepMerge(prev, value) : value
  }
  return out
}

function isRecord(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined
}

function truthy(v: unknown): boolean {
  return v === true || (typeof v === 'string' && /^(1|true|yes|on)$/i.test(v))
}

/** The named cloud from parsed clouds.yaml (+ secure.yaml) documents, as a flat raw entry. */
export function selectCloud(clouds: unknown, secure: unknown, name: string, source: string): Raw {
  const all = isRecord(clouds) && isRecord(clouds.clouds) ? clouds.clouds : {}
  const entry = all[name]
  if (!isRecord(entry)) {
    const known = Object.keys(all)
    throw new GutsError(
      'GUTS_CONFIG_INVALID',
      `Cloud "${name}" is not in ${source}${known.length ? ` (it has: ${known.join(', ')})` : ''}.`,
      {
        suggestions: ['Set `cloud` (or OS_CLOUD) to one of the clouds in clouds.yaml, or point OS_CLIENT_CONFIG_FILE at the right file.'],
      },
    )
  }
  const sec = isRecord(secure) && isRecord(secure.clouds) && isRecord(secure.clouds[name]) ? secure.clouds[name] : {}
  return deepMerge(entry, sec)
}

/** A clouds.yaml entry in openstacksdk's snake_case shape → CloudConfig. */
export function fromCloudEntry(entry: Raw, source: string): Partial<CloudConfig> & { raw: Raw } {
  const auth = isRecord(entry.auth) ? entry.auth : {}
  const verify = entry.verify
  return {
    raw: {
      authUrl: str(auth.auth_url),
      username: str(auth.username),
      userId: str(auth.user_id),
      password: str(auth.password),
      userDomainName: str(auth.user_domain_name) ?? str(auth.domain_name),
      userDomainId: str(auth.user_domain_id) ?? str(auth.domain_id),
      projectName: str(auth.project_name) ?? str(auth.tenant_name),
      projectId: str(auth.project_id) ?? str(auth.tenant_id),
      projectDomainName: str(auth.project_domain_name) ?? str(auth.domain_name),
      projectDomainId: str(auth.project_domain_id) ?? str(auth.domain_id),
      applicationCredentialId: str(auth.application_credential_id),
      applicationCredentialName: str(auth.application_credential_name),
      applicationCredentialSecret: str(auth.application_credential_secret),
      authType: str(entry.auth_type),
      region: str(entry.region_name),
      interface: str(entry.interface) ?? str(entry.endpoint_type),
      caCert: str(entry.cacert),
      insecure: verify === false || truthy(entry.insecure),
    },
    source,
  }
}

/** OS_* variables, the openrc way. */
export function fromEnv(env: Env): Raw {
  return {
    authUrl: env.OS_AUTH_URL,
    username: env.OS_USERNAME,
    userId: env.OS_USER_ID,
    password: env.OS_PASSWORD,
    userDomainName: env.OS_USER_DOMAIN_NAME ?? env.OS_DOMAIN_NAME,
    userDomainId: env.OS_USER_DOMAIN_ID,
    projectName: env.OS_PROJECT_NAME ?? env.OS_TENANT_NAME,
    projectId: env.OS_PROJECT_ID ?? env.OS_TENANT_ID,
    projectDomainName: env.OS_PROJECT_DOMAIN_NAME ?? env.OS_DOMAIN_NAME,
    projectDomainId: env.OS_PROJECT_DOMAIN_ID,
    applicationCredentialId: env.OS_APPLICATION_CREDENTIAL_ID,
    applicationCredentialName: env.OS_APPLICATION_CREDENTIAL_NAME,
    applicationCredentialSecret: env.OS_APPLICATION_CREDENTIAL_SECRET,
    authType: env.OS_AUTH_TYPE,
    region: env.OS_REGION_NAME,
    interface: env.OS_INTERFACE ?? env.OS_ENDPOINT_TYPE,
    caCert: env.OS_CACERT,
    insecure: truthy(env.OS_INSECURE),
  }
}

function readYaml(path: string): unknown {
  try {
    return parse(readFileSync(path, 'utf8'))
  } catch (error) {
    throw new GutsError('GUTS_CONFIG_INVALID', `${path} is not valid YAML: ${(error as Error).message}`, { cause: error })
  }
}

export interface LoadOptions {
  env?: Env
  cwd?: string
  home?: string
}

/**
 * Resolves the cloud to talk to, like the openstack CLI: the `cloud` option or OS_CLOUD selects an
 * entry of clouds.yaml (merged with secure.yaml); without one, OS_* variables describe it. Explicit
 * driver options win over both, so a plan can override a single value (say, the region).
 */
export function loadCloudConfig(overrides: CloudOverrides, o: LoadOptions = {}): CloudConfig {
  const env = o.env ?? process.env
  const cwd = o.cwd ?? process.cwd()
  const home = o.home ?? homedir()
  const cloudName = overrides.cloud ?? env.OS_CLOUD
  let base: Raw
  let source: string
  if (cloudName) {
    const path = configCandidates('clouds.yaml', env, cwd, home).find((p) => existsSync(p))
    if (!path) {
      throw new GutsError('GUTS_CONFIG_INVALID', `Cloud "${cloudName}" was asked for, but no clouds.yaml was found.`, {
        suggestions: ['Put clouds.yaml in ./, ~/.config/openstack/ or /etc/openstack/, or set OS_CLIENT_CONFIG_FILE.'],
      })
    }
    const securePath = configCandidates('secure.yaml', env, cwd, home).find((p) => existsSync(p))
    source = `${path} (cloud ${cloudName})`
    base = fromCloudEntry(selectCloud(readYaml(path), securePath ? readYaml(securePath) : undefined, cloudName, path), source).raw
  } else {
    source = 'OS_* environment variables'
    base = fromEnv(env)
  }
  const explicit: Raw = Object.fromEntries(Object.entries(overrides).filter(([k, v]) => k !== 'cloud' && v !== undefined && v !== ''))
  if (Object.keys(explicit).length) source = `${source} with driver options`
  return toCloudConfig({ ...base, ...explicit }, source)
}

/** Validates a flat raw config and shapes it; says which setting is missing. */
export function toCloudConfig(raw: Raw, source: string): CloudConfig {
  const missing = (what: string): never => {
    throw new GutsError('GUTS_CONFIG_INVALID', `OpenStack settings from ${source} have no ${what}.`, {
      suggestions: [
        'Set `cloud` to a clouds.yaml entry, export the OS_* variables (source an openrc), or give the driver options authUrl, username, password and projectName.',
      ],
    })
  }
  const authUrl = str(raw.authUrl) ?? missing('auth URL (auth_url / OS_AUTH_URL / authUrl)')
  const iface = (str(raw.interface) ?? 'public').replace(/URL$/, '')
  if (iface !== 'public' && iface !== 'internal' && iface !== 'admin') {
    throw new GutsError('GUTS_CONFIG_INVALID', `OpenStack interface "${iface}" from ${source} is not public, internal or admin.`)
  }
  const appCred = str(raw.applicationCredentialSecret) !== undefined || /application/i.test(str(raw.authType) ?? '')
  const config: CloudConfig = {
    authUrl,
    auth: appCred
      ? {
          type: 'applicationCredential',
          secret: str(raw.applicationCredentialSecret) ?? missing('application credential secret'),
          ...(str(raw.applicationCredentialId) ? { id: str(raw.applicationCredentialId) } : {}),
          ...(str(raw.applicationCredentialName)
            ? {
                name: str(raw.applicationCredentialName),
                username: str(raw.username),
                userDomainName: str(raw.userDomainName) ?? 'Default',
              }
            : {}),
        }
      : {
          type: 'password',
          password: str(raw.password) ?? missing('password (password / OS_PASSWORD)'),
          ...(str(raw.username) ? { username: str(raw.username) } : {}),
          ...(str(raw.userId) ? { userId: str(raw.userId) } : {}),
          ...(str(raw.userDomainId) ? { userDomainId: str(raw.userDomainId) } : { userDomainName: str(raw.userDomainName) ?? 'Default' }),
        },
    interface: iface,
    insecure: raw.insecure === true,
    source,
  }
  if (config.auth.type === 'password' && !config.auth.username && !config.auth.userId) missing('user name (username / OS_USERNAME)')
  if (config.auth.type === 'applicationCredential' && !config.auth.id && !config.auth.name) missing('application credential id')
  if (config.auth.type === 'password') {
    const name = str(raw.projectName)
    const id = str(raw.projectId)
    if (name || id) {
      config.project = {
        ...(name ? { name } : {}),
        ...(id ? { id } : {}),
        ...(str(raw.projectDomainId) ? { domainId: str(raw.projectDomainId) } : { domainName: str(raw.projectDomainName) ?? 'Default' }),
      }
    }
  }
  if (str(raw.region)) config.region = str(raw.region)
  if (str(raw.caCert)) config.caCert = str(raw.caCert)
  return config
}
