import { describe, expect, it } from 'vitest'
import { findEndpoint, identityRoot, versionedRoot, type CatalogEntry } from '../src/client/catalog.js'

const catalog: CatalogEntry[] = [
  {
    type: 'compute',
    endpoints: [
      { interface: 'public', region_id: 'R1', url: 'https://nova.r1/v2.1/' },
      { interface: 'internal', region_id: 'R1', url: 'http://nova-int.r1/v2.1' },
      { interface: 'public', region_id: 'R2', url: 'https://nova.r2/v2.1' },
    ],
  },
  { type: 'volumev3', endpoints: [{ interface: 'public', region_id: 'R1', url: 'https://cinder.r1/v3/p1' }] },
  { type: 'image', endpoints: [{ interface: 'public', region: 'R1', url: 'https://glance.r1' }] },
]

describe('catalog', () => {
  it('selects by interface and region, and drops trailing slashes', () => {
    expect(findEndpoint(catalog, 'compute', 'public', 'R1')).toBe('https://nova.r1/v2.1')
    expect(findEndpoint(catalog, 'compute', 'internal', 'R1')).toBe('http://nova-int.r1/v2.1')
    expect(findEndpoint(catalog, 'compute', 'public', 'R2')).toBe('https://nova.r2/v2.1')
    expect(findEndpoint(catalog, 'image', 'public', 'R1')).toBe('https://glance.r1')
  })

  it('finds Cinder under its alias types', () => {
    expect(findEndpoint(catalog, 'volume', 'public')).toBe('https://cinder.r1/v3/p1')
  })

  it('says what the catalog has when nothing matches', () => {
    expect(() => findEndpoint(catalog, 'compute', 'admin', 'R1')).toThrow(
      /no compute endpoint .* interface admin in region R1; it has R1\/public, R1\/internal, R2\/public/,
    )
    expect(() => findEndpoint(catalog, 'network', 'public')).toThrow(/no network endpoint/)
  })

  it('adds the API version only when the URL has none', () => {
    expect(versionedRoot('https://glance.r1', 'image')).toBe('https://glance.r1/v2')
    expect(versionedRoot('https://glance.r1/v2/', 'image')).toBe('https://glance.r1/v2')
    expect(versionedRoot('http://neutron:9696/', 'network')).toBe('http://neutron:9696/v2.0')
    expect(versionedRoot('https://cinder.r1/v3/p1', 'volume', 'p1')).toBe('https://cinder.r1/v3/p1')
    expect(versionedRoot('https://cinder.r1', 'volume', 'p9')).toBe('https://cinder.r1/v3/p9')
    expect(versionedRoot('https://cloud/compute', 'compute')).toBe('https://cloud/compute/v2.1')
  })

  it('normalises the identity URL to its v3 root', () => {
    expect(identityRoot('http://k:5000')).toBe('http://k:5000/v3')
    expect(identityRoot('http://k:5000/v3/')).toBe('http://k:5000/v3')
    expect(identityRoot('https://cloud/identity/v2.0')).toBe('https://cloud/identity/v3')
  })
})
