import { afterEach, describe, expect, it } from 'vitest'
import { testCertificate } from '@guts/http/testing'
import { resolveConfig } from '../src/client/config.js'
import { VimSession } from '../src/client/session.js'
import { fakeVim, fixture, SERVICE_CONTENT, soapResponse } from './helpers.js'

const closers: (() => Promise<void>)[] = []
afterEach(async () => {
  while (closers.length) await closers.pop()!()
})

function config(url: string, extra: Record<string, unknown> = {}) {
  return resolveConfig({ url, username: 'u', password: 'p&<x>', ...extra }, {})
}

describe('VimSession over HTTP', () => {
  it('logs in, keeps the session cookie, sends SOAPAction with the server version, logs in again on NotAuthenticated', async () => {
    const seen: string[] = []
    let logins = 0
    let expireOnce = true
    const sim = await fakeVim((method, body, req, res) => {
      seen.push(`${method} ${req.headers.cookie ?? '-'} ${req.headers.soapaction}`)
      res.setHeader('content-type', 'text/xml')
      if (method === 'RetrieveServiceContent') return res.end(SERVICE_CONTENT)
      if (method === 'Login') {
        expect(body).toContain('<password>p&amp;&lt;x&gt;</password>')
        logins++
        res.setHeader('set-cookie', `vmware_soap_session="s${logins}"; Path=/; HttpOnly; Secure`)
        return res.end(soapResponse('Login', '<returnval><key>k</key><userName>u</userName></returnval>'))
      }
      if (method === 'CurrentTime') {
        if (expireOnce && logins === 1) {
          expireOnce = false
          res.statusCode = 500
          return res.end(fixture('not-authenticated.xml'))
        }
        return res.end(soapResponse('CurrentTime', '<returnval>2026-11-25T00:00:00Z</returnval>'))
      }
      if (method === 'Logout') return res.end(soapResponse('Logout', ''))
      res.statusCode = 500
      res.end('?')
    })
    closers.push(sim.close)
    const s = new VimSession(config(sim.url))
    expect(await s.call('CurrentTime', { _this: { type: 'ServiceInstance', value: 'ServiceInstance' } })).toBe('2026-11-25T00:00:00Z')
    await s.close()
    expect(seen).toEqual([
      'RetrieveServiceContent - "urn:vim25/7.0"',
      'Login - "urn:vim25/7.0"',
      'CurrentTime vmware_soap_session="s1" "urn:vim25/7.0"',
      'Login - "urn:vim25/7.0"',
      'CurrentTime vmware_soap_session="s2" "urn:vim25/7.0"',
      'Logout vmware_soap_session="s2" "urn:vim25/7.0"',
    ])
  })

  it('a wrong password is GUTS_AUTH_FAILED, not retried', async () => {
    let logins = 0
    const sim = await fakeVim((method, _body, _req, res) => {
      if (method === 'RetrieveServiceContent') return res.end(SERVICE_CONTENT)
      logins++
      res.statusCode = 500
      res.end(fixture('invalid-login.xml'))
    })
    closers.push(sim.close)
    const s = new VimSession(config(sim.url))
    await expect(s.connect()).rejects.toMatchObject({
      code: 'GUTS_AUTH_FAILED',
      details: { vmware: { fault: 'InvalidLogin', method: 'Login' } },
    })
    expect(logins).toBe(1)
    await s.close()
  })

  it('a refused connection is GUTS_UNREACHABLE, after the retries a call that never arrived may have', async () => {
    const sim = await fakeVim(() => undefined)
    const url = sim.url
    await sim.close()
    const s = new VimSession(config(url))
    await expect(s.connect()).rejects.toMatchObject({ code: 'GUTS_UNREACHABLE', details: { network: { kind: 'refused' } } })
    await s.close()
  }, 30_000)
})

describe('TLS', () => {
  const answer = (method: string, _b: string, _r: unknown, res: { end(s: string): void }): void =>
    res.end(method === 'RetrieveServiceContent' ? SERVICE_CONTENT : soapResponse(method, '<returnval><key>k</key></returnval>'))
  const PIN = testCertificate().sha1

  it('rejects a self-signed certificate by default', async () => {
    const sim = await fakeVim(answer as never, true)
    closers.push(sim.close)
    const s = new VimSession(config(sim.url))
    await expect(s.connect()).rejects.toMatchObject({
      code: 'GUTS_AUTH_FAILED',
      retryable: false,
      message: expect.stringMatching(/^TLS verification failed for vSphere/),
    })
    await s.close()
  })

  it('accepts it with the right thumbprint, with the CA, or when insecure', async () => {
    const sim = await fakeVim(answer as never, true)
    closers.push(sim.close)
    for (const opts of [
      { thumbprint: PIN.toLowerCase() },
      { caCert: testCertificate().certPath },
      { thumbprint: testCertificate().sha256 },
      { insecure: true },
    ]) {
      const s = new VimSession(config(sim.url, opts))
      await expect(s.connect()).resolves.toBeUndefined()
      await s.close()
    }
  })

  it('refuses another certificate than the pinned one', async () => {
    const sim = await fakeVim(answer as never, true)
    closers.push(sim.close)
    const s = new VimSession(config(sim.url, { thumbprint: PIN.replace('13:', '14:') }))
    await expect(s.connect()).rejects.toMatchObject({ code: 'GUTS_AUTH_FAILED' })
    await s.close()
  })
})
