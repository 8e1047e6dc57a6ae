import { describe, expect, it } from 'vitest'
import { apiError, codeForStatus, networkError, redact, serviceMessage } from '../src/client/errors.js'
import { backoffMs } from '@guts/sdk'
import { shouldRetry } from '../src/client/http.js'

describe('OpenStack errors', () => {
  it("finds the message in every service's error body", () => {
    expect(
      serviceMessage('{"error": {"code": 401, "message": "The request you have made requires authentication.", "title": "Unauthorized"}}'),
    ).toBe('The request you have made requires authentication.')
    expect(serviceMessage('{"itemNotFound": {"code": 404, "message": "Flavor m1.x could not be found."}}')).toBe(
      'Flavor m1.x could not be found.',
    )
    expect(
      serviceMessage(
        '{"NeutronError": {"type": "MacAddressInUse", "message": "Unable to complete operation for network x. The mac address fa:16:3e:00:00:01 is in use.", "detail": ""}}',
      ),
    ).toMatch(/mac address .* is in use/)
    expect(
      serviceMessage(
        '<html><head><title>413 Request Entity Too Large</title></head><body><h1>413</h1>Image storage media is full</body></html>',
      ),
    ).toBe('413 Request Entity Too Large 413 Image storage media is full')
    expect(serviceMessage('')).toBe('')
  })

  it('maps statuses (and quota wording) to guts error codes', () => {
    expect(codeForStatus(401, '')).toBe('GUTS_AUTH_FAILED')
    expect(codeForStatus(404, '')).toBe('GUTS_NOT_FOUND')
    expect(codeForStatus(413, '')).toBe('GUTS_QUOTA_EXCEEDED')
    expect(codeForStatus(403, 'Quota exceeded for cores: Requested 4, but already used 98 of 100 cores')).toBe('GUTS_QUOTA_EXCEEDED')
    expect(codeForStatus(409, "Quota exceeded for resources: ['port'].")).toBe('GUTS_QUOTA_EXCEEDED')
    expect(codeForStatus(403, 'Policy does not allow')).toBe('GUTS_AUTH_FAILED')
    expect(codeForStatus(409, 'in use')).toBe('GUTS_CONFLICT')
    expect(codeForStatus(503, '')).toBe('GUTS_UNREACHABLE')
    expect(codeForStatus(400, 'bad')).toBe('GUTS_DRIVER_ERROR')
  })

  it('carries the service message and request id, never a secret', () => {
    const e = apiError(
      {
        service: 'compute',
        method: 'POST',
        url: 'http://nova/v2.1/servers?x=1',
        status: 403,
        body: '{"forbidden": {"message": "Quota exceeded for instances; password p4ssw0rd-x"}}',
        requestId: 'req-123',
      },
      ['p4ssw0rd-x'],
    )
    expect(e.code).toBe('GUTS_QUOTA_EXCEEDED')
    expect(e.message).toBe(
      'OpenStack compute POST http://nova/v2.1/servers failed with HTTP 403: Quota exceeded for instances; password *** (request req-123)',
    )
    expect(e.details).toEqual({ openstack: { service: 'compute', status: 403, requestId: 'req-123' } })
    expect(redact('token abcd and abcd', ['abcd', undefined, 'ab'])).toBe('token *** and ***')
  })

  it('turns refused connections into GUTS_UNREACHABLE with the origin only', () => {
    const refused = Object.assign(new TypeError('fetch failed'), {
      cause: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:5000' },
    })
    const e = networkError('identity', 'http://127.0.0.1:5000/v3/auth/tokens?secret=1', refused)
    expect(e.code).toBe('GUTS_UNREACHABLE')
    expect(e.message).toBe('Cannot reach OpenStack identity at http://127.0.0.1:5000: connect ECONNREFUSED 127.0.0.1:5000')
    const tls = Object.assign(new TypeError('fetch failed'), {
      cause: { code: 'SELF_SIGNED_CERT_IN_CHAIN', message: 'self-signed certificate in certificate chain' },
    })
    expect(networkError('image', 'https://g', tls).suggestions.join(' ')).toMatch(/caCert/)
    // The same meaning as in every driver: the server failed to prove who it is.
    expect(networkError('image', 'https://g', tls)).toMatchObject({ code: 'GUTS_AUTH_FAILED', retryable: false })
  })

  it('retries only where repeating is safe', () => {
    expect(shouldRetry('GET', 503)).toBe(true)
    expect(shouldRetry('DELETE', 500)).toBe(true)
    expect(shouldRetry('POST', 503)).toBe(false)
    expect(shouldRetry('GET', 429)).toBe(true)
    expect(shouldRetry('DELETE', 409)).toBe(true)
    expect(shouldRetry('POST', 409)).toBe(false)
    expect(shouldRetry('GET', 404)).toBe(false)
    expect(backoffMs(0, '2')).toBe(2000)
    expect(backoffMs(2)).toBeGreaterThanOrEqual(2000)
    expect(backoffMs(2)).toBeLessThan(2250)
  })
})
