import { describe, expect, it } from 'vitest'
import { quotaFinding } from '../src/preflight.js'

describe('quota findings', () => {
  it('say nothing when the VM fits, the limit is unlimited (-1) or nothing is needed', () => {
    expect(quotaFinding('cores', 2, 10, 8, 'web-01')).toBeUndefined()
    expect(quotaFinding('cores', 64, -1, 1000, 'web-01')).toBeUndefined()
    expect(quotaFinding('volumes', 0, 0, 0, 'web-01')).toBeUndefined()
  })

  it('name the VM, the resource, what it needs and what is left', () => {
    expect(quotaFinding('ram', 4096, 10240, 8192, 'web-01', ' MiB')).toEqual({
      severity: 'error',
      code: 'quota-ram',
      message: "The project's ram quota is exhausted: web-01 needs 4096 MiB, but only 2048 MiB of 10240 MiB are left.",
      ref: 'web-01',
    })
    // Over-used projects (an admin lowered the quota) report 0 left, not a negative number.
    expect(quotaFinding('instances', 1, 5, 7, 'db')?.message).toContain('only 0 of 5 are left')
  })
})
