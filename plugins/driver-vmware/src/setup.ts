import type { SetupHints } from '@guts/sdk'

/** How plan wizards ask for vSphere settings: govc's variables count as given (the driver reads them too). */
export const VMWARE_SETUP: SetupHints = {
  essential: ['url', 'username', 'password'],
  env: {
    url: ['GOVC_URL'],
    username: ['GOVC_USERNAME'],
    password: ['GOVC_PASSWORD'],
    thumbprint: ['GOVC_THUMBPRINT'],
    caCert: ['GOVC_TLS_CA_CERTS'],
    insecure: ['GOVC_INSECURE'],
    datacenter: ['GOVC_DATACENTER'],
  },
}
