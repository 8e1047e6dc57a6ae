import { GutsError } from '@guts/sdk'

/** Keystone v3 catalog entries, as returned with a token. */
export interface CatalogEntry {
  type: string
  name?: string
  endpoints: { interface: string; region?: string; region_id?: string; url: string }[]
}

/** The service types guts talks to, and the aliases clouds register them under, best first. */
export const SERVICE_TYPES = {
  identity: ['identity'],
  compute: ['compute'],
  image: ['image'],
  network: ['network'],
  volume: ['block-storage', 'volumev3', 'volume'],
} as const
export type Service = keyof typeof SERVICE_TYPES

/** The API version each service is called at, appended when the catalog URL has none. */
const VERSION_SUFFIX: Record<Service, string> = {
  identity: '/v3',
  compute: '/v2.1',
  image: '/v2',
  network: '/v2.0',
  volume: '/v3',
}

/** Finds the endpoint URL for a service type, interface and (optional) region. */
export function findEndpoint(catalog: readonly CatalogEntry[], service: Service, iface: string, region?: string): string {
  for (const type of SERVICE_TYPES[service]) {
    const entry = catalog.find((e) => e.type === type)
    if (!entry) continue
    const match = entry.endpoints.find((ep) => ep.interface === iface && (!region || ep.region_id === region || ep.region === region))
    if (match) return match.url.replace(/\/+$/, '')
  }
  const regions = [
    ...new Set(
      catalog.flatMap((e) =>
        (SERVICE_TYPES[service] as readonly string[]).includes(e.type)
          ? e.endpoints.map((ep) => `${ep.region_id ?? ep.region ?? '?'}/${ep.interface}`)
          : [],
      ),
    ),
  ]
  throw new GutsError(
    'GUTS_NOT_FOUND',
    `The service catalog has no ${service} endpoint (${SERVICE_TYPES[service].join(' / ')}) for interface ${iface}${region ? ` in region ${region}` : ''}${regions.length ? `; it has ${regions.join(', ')}` : ''}.`,
    {
      suggestions: ['Check region_name and interface in clouds.yaml (OS_REGION_NAME, OS_INTERFACE).'],
    },
  )
}

/**
 * The versioned root of a service. Catalogs register both `http://h:9292` and `http://h:9292/v2`,
 * Cinder usually `…/v3/<project_id>`: keep a version that is there (and what follows it), add the
 * default one otherwise. For Cinder the project id is appended, since old deployments need it.
 */
export function versionedRoot(url: string, service: Service, projectId?: string): string {
  const clean = url.replace(/\/+$/, '')
  const path = new URL(clean).pathname
  if (/\/v\d+(\.\d+)?(\/|$)/.test(path)) return clean
  const root = `${clean}${VERSION_SUFFIX[service]}`
  return service === 'volume' && projectId ? `${root}/${projectId}` : root
}

/** `http://h:5000`, `http://h:5000/v3` and `http://h/identity/v3/` all → the `/v3` root. */
export function identityRoot(authUrl: string): string {
  const clean = authUrl.replace(/\/+$/, '')
  return /\/v3$/.test(clean) ? clean : `${clean.replace(/\/v2\.0$/, '')}/v3`
}
