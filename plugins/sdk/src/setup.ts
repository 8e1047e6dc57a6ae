/**
 * How front ends (`guts plan init`, the dashboard's plan builder) ask a user for a driver's options.
 * All optional: without hints every option of the schema is offered, required ones first.
 */
export interface SetupHints {
  /** Options asked first, in this order; the rest only after one "advanced options?" question. */
  essential?: readonly string[]
  /**
   * Environment variables that already supply an option (`password: ['GOVC_PASSWORD']`): while one is
   * set the option is not asked and not written, since the driver reads it at run time too.
   */
  env?: Readonly<Record<string, readonly string[]>>
  /** Options that make others unnecessary once answered: `cloud: ['authUrl', 'password', …]`. */
  covers?: Readonly<Record<string, readonly string[]>>
  /** Choices read from this machine, with no connection (e.g. the entries of clouds.yaml). */
  choices?(key: string, env: Readonly<Record<string, string | undefined>>): readonly string[] | undefined
}
