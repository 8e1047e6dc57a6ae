import { afterEach, describe, expect, it } from 'vitest'
import { HttpPool } from '@guts/http'
import { SoapTransport } from '../src/client/soap.js'
import { fakeVim, fixture, SERVICE_CONTENT } from './helpers.js'

/**
 * The SOAP transport repeats what is safe to repeat, as the OpenStack client does: reads after a
 * dropped connection or a 5xx without a SOAP answer (a proxy, a restarting vpxd); never a call
 * that starts something, and never a fault (vSphere sends those as HTTP 500 with a SOAP body).
 */
const closers: (() => Promise<void>)[] = []
afterEach(async () => {
  while (closers.length) await closers.pop()!()
})

async function transportTo(handler: Parameters<typeof fakeVim>[0]): Promise<SoapTransport> {
  const sim = await fakeVim(handler)
  const pool = new HttpPool({})
  closers.push(sim.close, () => pool.close())
  return new SoapTransport(new URL(sim.url), pool)
}

describe('SoapTransport retries', () => {
  it('repeats a read after a reset and after a 503 page, honouring Retry-After', async () => {
    const seen: string[] = []
    const t = await transportTo((method, _b, req, res) => {
      seen.push(method)
      if (seen.length === 1) return void req.socket.destroy()
      if (seen.length === 2) return void res.writeHead(503, { 'retry-after': '0', 'content-type': 'text/html' }).end('<html>busy</html>')
      res.end(SERVICE_CONTENT)
    })
    const sc = await t.call('RetrieveServiceContent', { _this: { type: 'ServiceInstance', value: 'ServiceInstance' } })
    expect(sc).toBeDefined()
    expect(seen).toEqual(['RetrieveServiceContent', 'RetrieveServiceContent', 'RetrieveServiceContent'])
  })

  it('never repeats a task-starting call or Login after a reset', async () => {
    for (const method of ['CreateSnapshot_Task', 'Login', 'ContinueRetrievePropertiesEx']) {
      let calls = 0
      const t = await transportTo((_m, _b, req) => {
        calls++
        req.socket.destroy()
      })
      await expect(t.call(method, { _this: { type: 'VirtualMachine', value: 'vm-1' } })).rejects.toMatchObject({
        code: 'GUTS_UNREACHABLE',
        retryable: true,
        details: { network: { kind: 'reset' } },
      })
      expect(calls).toBe(1)
    }
  })

  it('does not repeat a fault sent as HTTP 500', async () => {
    let calls = 0
    const t = await transportTo((_m, _b, _req, res) => {
      calls++
      res.statusCode = 500
      res.end(fixture('not-found-vcsim.xml'))
    })
    await expect(t.call('RetrievePropertiesEx', { _this: { type: 'PropertyCollector', value: 'pc' } })).rejects.toThrow(
      /ManagedObjectNotFound|NotFound/,
    )
    expect(calls).toBe(1)
  })
})
