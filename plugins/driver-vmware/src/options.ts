import type { JsonSchema } from '@guts/sdk'

export type { VmwareOptions } from './client/config.js'

export const SECRET_OPTIONS = ['password'] as const

export const vmwareOptionsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  description:
    'Reads VMs from vCenter or ESXi over the vim25 SOAP API. Every option may come from govc\'s environment instead: GOVC_URL (may hold user:pass@), GOVC_USERNAME, GOVC_PASSWORD, GOVC_INSECURE, GOVC_THUMBPRINT, GOVC_TLS_CA_CERTS, GOVC_DATACENTER.',
  properties: {
    url: { type: 'string', minLength: 1, description: 'vCenter/ESXi host or SDK URL, e.g. https://vcenter.example.com/sdk (default GOVC_URL).' },
    username: { type: 'string', minLength: 1 },
    password: { type: 'string', description: 'Secret: never logged or stored.' },
    thumbprint: { type: 'string', pattern: '^([0-9A-Fa-f]{2}:?){19}[0-9A-Fa-f]{2}$', description: 'SHA-1 fingerprint of the server certificate to pin (as GOVC_THUMBPRINT).' },
    caCert: { type: 'string', minLength: 1, description: 'PEM CA bundle that signed the server certificate.' },
    insecure: { type: 'boolean', default: false, description: 'Skip TLS verification (labs only).' },
    datacenter: { type: 'string', minLength: 1, description: 'Only list VMs of this datacenter.' },
    quiesce: { type: 'boolean', default: false, description: 'Quiesce the guest file systems (and VSS writers on Windows) through VMware Tools when snapshot and warm exports take their snapshots: application-consistent instead of crash-consistent. Needs VMware Tools running in the guest.' },
  },
}
