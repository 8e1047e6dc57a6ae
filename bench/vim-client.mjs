// A few vim25 calls for the benches' baselines and set-up (the control path; disk data goes through
// curl or guts). Deliberately not the driver's client: the baseline must not share guts' code.
import { request } from 'node:https'

// ---- a few vim25 calls (the baseline's control path; the data goes through curl) ----

export const envelope = (body) =>
  `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>${body}</soapenv:Body></soapenv:Envelope>`
const returnval = (xml) => /<returnval[^>]*>([^<]*)<\/returnval>/.exec(xml)?.[1]

export class VimClient {
  constructor(lab) {
    this.lab = lab
    this.session = ''
  }

  static async login(lab) {
    const c = new VimClient(lab)
    await c.call(
      `<Login xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this><userName>${lab.username}</userName><password>${lab.password}</password></Login>`,
    )
    if (!c.session) throw new Error(`vcsimx at ${lab.url}: Login as ${lab.username} gave no session cookie`)
    return c
  }

  call(body) {
    const url = new URL(this.lab.url)
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          rejectUnauthorized: false,
          headers: {
            'Content-Type': 'text/xml; charset=utf-8',
            SOAPAction: '"urn:vim25/6.5"',
            ...(this.session ? { Cookie: `vmware_soap_session=${this.session}` } : {}),
          },
        },
        (res) => {
          let text = ''
          res.setEncoding('utf8').on('data', (d) => (text += d))
          res.on('end', () => {
            const cookie = (res.headers['set-cookie'] ?? []).map((s) => /vmware_soap_session=([^;]+)/.exec(s)?.[1]).find(Boolean)
            if (cookie) this.session = cookie
            if (res.statusCode !== 200 || text.includes('<soapenv:Fault') || text.includes(':Fault>'))
              reject(new Error(`SOAP ${body.slice(1, body.indexOf(' '))}: HTTP ${res.statusCode} ${text.slice(0, 600)}`))
            else resolve(text)
          })
        },
      )
      req.on('error', reject)
      req.end(envelope(body))
    })
  }

  async findVm(path) {
    const vm = returnval(
      await this.call(
        `<FindByInventoryPath xmlns="urn:vim25"><_this type="SearchIndex">SearchIndex</_this><inventoryPath>${path}</inventoryPath></FindByInventoryPath>`,
      ),
    )
    if (!vm) throw new Error(`no VM at ${path}`)
    return vm
  }

  /** Tasks complete synchronously in vcsim; an already powered-off VM is fine. */
  async powerOff(vm) {
    await this.call(`<PowerOffVM_Task xmlns="urn:vim25"><_this type="VirtualMachine">${vm}</_this></PowerOffVM_Task>`).catch((e) => {
      if (!/InvalidPowerState/.test(e.message)) throw e
    })
  }

  async exportVm(vm) {
    const lease = returnval(await this.call(`<ExportVm xmlns="urn:vim25"><_this type="VirtualMachine">${vm}</_this></ExportVm>`))
    if (!lease) throw new Error('ExportVm returned no lease')
    return lease
  }

  /** Disk URLs of a ready lease (vcsimx leases start ready), `*` host replaced. */
  async leaseDiskUrls(lease) {
    const info = await this.call(
      `<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>HttpNfcLease</type><pathSet>info</pathSet></propSet><objectSet><obj type="HttpNfcLease">${lease}</obj></objectSet></specSet><options></options></RetrievePropertiesEx>`,
    )
    const urls = []
    for (const d of info.match(/<deviceUrl>[\s\S]*?<\/deviceUrl>/g) ?? []) {
      if (!/<disk>true<\/disk>/.test(d)) continue
      urls.push(/<url>([^<]*)<\/url>/.exec(d)[1].replace('://*/', `://${new URL(this.lab.url).host}/`))
    }
    if (!urls.length) throw new Error(`lease ${lease} has no disk URL: ${info.slice(0, 600)}`)
    return urls
  }

  leaseComplete(lease) {
    return this.call(`<HttpNfcLeaseComplete xmlns="urn:vim25"><_this type="HttpNfcLease">${lease}</_this></HttpNfcLeaseComplete>`)
  }

  async containerView(type) {
    const view = returnval(
      await this.call(
        `<CreateContainerView xmlns="urn:vim25"><_this type="ViewManager">ViewManager</_this><container type="Folder">group-d1</container><type>${type}</type><recursive>true</recursive></CreateContainerView>`,
      ),
    )
    if (!view) throw new Error('CreateContainerView returned no view')
    return view
  }

  logout() {
    return this.call('<Logout xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this></Logout>').catch(() => undefined)
  }
}
