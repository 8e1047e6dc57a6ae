import type { JsonSchema } from '@guts/sdk'
import type { CloudOverrides } from './client/cloud-config.js'

export interface OpenStackOptions extends CloudOverrides {
  /** `image`: Nova boots from the Glance image; `volume`: from a Cinder volume made from it. */
  bootFrom?: 'image' | 'volume'
  diskFormat?: 'qcow2' | 'raw'
}

export const SECRET_OPTIONS = ['password', 'applicationCredentialSecret'] as const

export const openstackOptionsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  description:
    'Lands VMs on OpenStack: one Glance image per disk, Cinder volumes for data disks (and the boot disk with bootFrom: volume), Neutron ports keeping the source MACs, and a Nova server. Credentials come from clouds.yaml (`cloud`, or OS_CLOUD) or OS_* variables; options given here override them.',
  properties: {
    cloud: { type: 'string', minLength: 1, description: 'Entry of clouds.yaml (+ secure.yaml) to use; default OS_CLOUD, else the OS_* variables.' },
    authUrl: { type: 'string', minLength: 1, description: 'Keystone URL, e.g. https://keystone.example.com:5000/v3.' },
    username: { type: 'string', minLength: 1 },
    password: { type: 'string', minLength: 1, description: 'Secret: never logged or stored.' },
    projectName: { type: 'string', minLength: 1 },
    userDomainName: { type: 'string', minLength: 1, default: 'Default' },
    projectDomainName: { type: 'string', minLength: 1, default: 'Default' },
    applicationCredentialId: { type: 'string', minLength: 1 },
    applicationCredentialSecret: { type: 'string', minLength: 1, description: 'Secret: never logged or stored.' },
    region: { type: 'string', minLength: 1 },
    interface: { type: 'string', enum: ['public', 'internal', 'admin'], default: 'public' },
    caCert: { type: 'string', minLength: 1, description: 'PEM CA bundle that signed the API endpoints.' },
    insecure: { type: 'boolean', default: false, description: 'Skip TLS verification (labs only).' },
    bootFrom: { type: 'string', enum: ['image', 'volume'], default: 'image' },
    diskFormat: { type: 'string', enum: ['qcow2', 'raw'], default: 'qcow2', description: 'Format uploaded to Glance; a VM mapping\'s diskFormat overrides it.' },
  },
}
