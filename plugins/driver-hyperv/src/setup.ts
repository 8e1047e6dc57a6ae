import type { SetupHints } from '@guts/sdk'

/** How plan wizards ask for a Hyper-V host: where it is, who logs in, which host key to trust. */
export const HYPERV_SETUP: SetupHints = {
  essential: ['host', 'username', 'password', 'hostKey'],
  covers: { privateKey: ['password'] },
}
