import { describe, expect, it } from 'vitest'
import { planQuotaFinding, type Needs } from '../src/plan-quota.js'

const vm = (name: string, gigabytes: number): Needs => ({
  name,
  instances: 1,
  cores: 1,
  ram: 512,
  volumes: gigabytes ? 1 : 0,
  gigabytes,
  ports: 0,
})

describe('whole-plan quota findings', () => {
  it('say nothing when the plan fits, the quota is unlimited, or no VM needs any', () => {
    expect(planQuotaFinding('gigabytes', [vm('a', 3), vm('b', 3)], 10, 4, ' GiB')).toBeUndefined()
    expect(planQuotaFinding('gigabytes', [vm('a', 3000)], -1, 4, ' GiB')).toBeUndefined()
    expect(planQuotaFinding('gigabytes', [vm('a', 0)], 0, 0, ' GiB')).toBeUndefined()
  })

  it('name every VM that needs the resource, the total, and what is left', () => {
    expect(planQuotaFinding('gigabytes', [vm('a', 3), vm('b', 0), vm('c', 4)], 10, 5, ' GiB')).toEqual({
      severity: 'error',
      code: 'plan-quota-gigabytes',
      message:
        "The project's gigabytes quota is too small for the plan: a needs 3 GiB, c needs 4 GiB (7 GiB together), but only 5 GiB of 10 GiB are left.",
      ref: 'a, c',
    })
  })
})
