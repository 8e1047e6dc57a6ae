import { readFileSync } from 'node:fs'
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttps } from 'node:https'
import type { AddressInfo } from 'node:net'
import { testCertificate } from '@guts/http/testing'

export const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')

export type Handler = (method: string, body: string, req: IncomingMessage, res: ServerResponse) => void

/** A tiny fake /sdk endpoint: the handler sees the vim25 method name of each POST. */
export async function fakeVim(handler: Handler, tls = false): Promise<{ url: string; close: () => Promise<void>; server: Server }> {
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const method = /<soapenv:Body><([A-Za-z_]+)/.exec(body)?.[1] ?? ''
      handler(method, body, req, res)
    })
  }
  const server = tls ? createHttps({ cert: testCertificate().cert, key: testCertificate().key }, onRequest) : createHttp(onRequest)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}/sdk`,
    server,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections?.()
        server.close(() => r())
      }),
  }
}

export function soapResponse(method: string, inner: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><${method}Response xmlns="urn:vim25">${inner}</${method}Response></soapenv:Body></soapenv:Envelope>`
}

export const SERVICE_CONTENT = soapResponse(
  'RetrieveServiceContent',
  '<returnval><rootFolder type="Folder">group-d1</rootFolder><propertyCollector type="PropertyCollector">propertyCollector</propertyCollector><viewManager type="ViewManager">ViewManager</viewManager><about><fullName>Fake vCenter</fullName><apiVersion>7.0</apiVersion><apiType>VirtualCenter</apiType></about><sessionManager type="SessionManager">SessionManager</sessionManager></returnval>',
)
