import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { openstackOptionsSchema, OpenStackOptionsSchema, type OpenStackOptions } from '../src/options.js'

/** The JSON Schema made from the zod schema keeps the shape plan validation reads back with zod. */
describe('openstack options schema', () => {
  const back = z.fromJSONSchema(openstackOptionsSchema as Parameters<typeof z.fromJSONSchema>[0])

  it('is a closed object with descriptions and defaults, without $schema', () => {
    expect(openstackOptionsSchema).toMatchObject({
      type: 'object',
      additionalProperties: false,
      description: expect.stringMatching(/^Lands VMs on OpenStack/),
    })
    expect(openstackOptionsSchema).not.toHaveProperty('$schema')
    expect(openstackOptionsSchema).not.toHaveProperty('required')
    const props = openstackOptionsSchema.properties as Record<string, Record<string, unknown>>
    expect(props.interface).toEqual({ default: 'public', type: 'string', enum: ['public', 'internal', 'admin'] })
    expect(props.password?.description).toMatch(/Secret/)
  })

  it('accepts what the type allows and refuses unknown keys and wrong values, read back as the plan validator does', () => {
    const ok: OpenStackOptions = { cloud: 'lab', bootFrom: 'volume', insecure: true }
    expect(back.safeParse(ok).success).toBe(true)
    expect(back.safeParse({}).success).toBe(true)
    const unknown = back.safeParse({ cloud: 'lab', flavour: 'x' })
    expect(unknown.error?.issues[0]).toMatchObject({ code: 'unrecognized_keys', keys: ['flavour'] })
    expect(back.safeParse({ bootFrom: 'disk' }).success).toBe(false)
    expect(OpenStackOptionsSchema.safeParse({ interface: 'private' }).success).toBe(false)
  })
})
