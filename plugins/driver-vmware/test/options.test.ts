import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { vmwareOptionsSchema, type VmwareOptions } from '../src/options.js'

/** The JSON Schema made from the zod schema keeps the shape plan validation reads back with zod. */
describe('vmware options schema', () => {
  const back = z.fromJSONSchema(vmwareOptionsSchema as Parameters<typeof z.fromJSONSchema>[0])

  it('is a closed object with descriptions and defaults, without $schema', () => {
    expect(vmwareOptionsSchema).toMatchObject({ type: 'object', additionalProperties: false, description: expect.stringMatching(/govc/) })
    expect(vmwareOptionsSchema).not.toHaveProperty('$schema')
    expect(vmwareOptionsSchema).not.toHaveProperty('required')
    const props = vmwareOptionsSchema.properties as Record<string, Record<string, unknown>>
    expect(props.insecure).toEqual({ description: 'Skip TLS verification (labs only).', default: false, type: 'boolean' })
  })

  it('takes SHA-1 and SHA-256 pins and refuses other lengths and unknown keys', () => {
    const ok: VmwareOptions = { url: 'vc.example', thumbprint: '13:44:93:56:80:28:5D:3E:DF:B9:E4:8F:24:44:07:D8:00:E3:0F:21' }
    expect(back.safeParse(ok).success).toBe(true)
    expect(
      back.safeParse({ thumbprint: 'A3:A2:18:83:1F:F4:0B:A6:8A:29:73:89:AC:62:68:AE:12:F8:69:A7:90:16:58:03:20:4C:FD:5E:C1:F2:6F:2C' })
        .success,
    ).toBe(true)
    expect(back.safeParse({ thumbprint: 'AA:BB' }).success).toBe(false)
    expect(back.safeParse({ url: 'vc', insecur: true }).error?.issues[0]).toMatchObject({ code: 'unrecognized_keys', keys: ['insecur'] })
  })
})
