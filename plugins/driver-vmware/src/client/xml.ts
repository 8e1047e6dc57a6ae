import { XMLParser } from 'fast-xml-parser'

/**
 * vim25 XML without a WSDL: a serializer for request arguments and a parser for responses.
 *
 * Parsed values are plain trees. Every value is a string (`parseTagValue: false`): 64-bit sizes
 * and offsets must not go through a float by accident, callers convert deliberately.
 */

/** A vim25 ManagedObjectReference: `<obj type="VirtualMachine">vm-42</obj>`. */
export interface Moref {
  readonly type: string
  readonly value: string
}

/** A parsed element: text, or an object of child elements, attributes (`@_name`) and `#text`. */
export type XmlValue = string | XmlObject | XmlValue[]
export interface XmlObject {
  [key: string]: XmlValue | undefined
}

/** The schema type of a parsed element, whatever prefix the server used for the xsi namespace. */
export const XSI_TYPE = '@_xsi:type'

export function moref(type: string, value: string): Moref {
  return { type, value }
}

export function isMoref(v: unknown): v is Moref {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 2 && 'type' in v && 'value' in v
}

/** XML text and attribute escaping: names and passwords may hold `<`, `&` or quotes. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;')
}

/**
 * A request argument. Objects keep their key order, which matters: vim25 types are
 * `xsd:sequence`s and the server rejects elements out of order. `{ '@type': 'X', ... }` adds
 * `xsi:type="X"`, needed for polymorphic arguments (a TraversalSpec in a selectSet).
 */
export type XmlArg = string | number | boolean | bigint | Moref | XmlArg[] | { [key: string]: XmlArg | undefined } | undefined

export function toXml(name: string, v: XmlArg): string {
  if (v === undefined) return ''
  if (Array.isArray(v)) return v.map((e) => toXml(name, e)).join('')
  if (typeof v !== 'object') return `<${name}>${escapeXml(String(v))}</${name}>`
  if (isMoref(v)) return `<${name} type="${escapeXml(v.type)}">${escapeXml(v.value)}</${name}>`
  const type = typeof v['@type'] === 'string' ? ` xsi:type="${escapeXml(v['@type'])}"` : ''
  const body = Object.entries(v)
    .filter(([k]) => k !== '@type')
    .map(([k, child]) => toXml(k, child))
    .join('')
  return `<${name}${type}>${body}</${name}>`
}

/** The whole SOAP envelope for one call; `_this` must be the first argument. */
export function envelope(method: string, args: Record<string, XmlArg>): string {
  const body = Object.entries(args)
    .map(([k, v]) => toXml(k, v))
    .join('')
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
    `<soapenv:Body><${method} xmlns="urn:vim25">${body}</${method}></soapenv:Body></soapenv:Envelope>`
  )
}

/**
 * Element prefixes are dropped (`soapenv:Body` → `Body`), but attribute prefixes are not simply
 * stripped as `removeNSPrefix` would: a moref value carries both `xsi:type="ManagedObjectReference"`
 * and a plain `type="Task"`, and stripping merges the two. vCenter writes `xsi:type`, the
 * simulator (Go's encoding/xml) `XMLSchema-instance:type`; any `<prefix>:type` becomes `@_xsi:type`.
 * The only prefixed `type` attribute vim25 uses is the schema-instance one.
 */
const parser = new XMLParser({
  ignoreAttributes: false,
  removeNSPrefix: false,
  attributeNamePrefix: '@_',
  transformTagName: (name) => name.replace(/^[^:]*:/, ''),
  transformAttributeName: (name) => (/^@_[^:]+:type$/.test(name) || /^[^:@]+:type$/.test(name) ? XSI_TYPE : name),
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: true,
  // The parser's own decoder knows numeric character references only in its HTML mode (which adds
  // HTML names XML does not have); Go's encoding/xml, hence the simulator, writes `"` as `&#34;`.
  entityDecoder: {
    decode: decodeXmlEntities,
    setExternalEntities: () => undefined,
    addInputEntities: () => undefined,
    reset: () => undefined,
    setXmlVersion: () => undefined,
  },
})

const XML_ENTITIES: Record<string, string> = { amp: '&', apos: "'", gt: '>', lt: '<', quot: '"' }

/** The five XML entities and numeric references, in one pass (`&amp;#34;` stays `&#34;`); others are kept. */
export function decodeXmlEntities(text: string): string {
  if (!text.includes('&')) return text
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (whole, ref: string) => {
    if (ref[0] !== '#') return XML_ENTITIES[ref] ?? whole
    const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10)
    return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : whole
  })
}

export function parseXml(text: string): XmlObject {
  return parser.parse(text) as XmlObject
}

/** One-element lists come back as a single value, absent ones as undefined: always a list. */
export function arr<T = XmlValue>(x: T | T[] | undefined | null): T[] {
  if (x === undefined || x === null) return []
  return Array.isArray(x) ? x : [x]
}

export function isObject(v: unknown): v is XmlObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** The text of a leaf (`<name>x</name>`, or `<name xsi:type="xsd:string">x</name>`). */
export function text(v: XmlValue | undefined): string | undefined {
  if (v === undefined) return undefined
  if (typeof v === 'string') return v
  if (isObject(v)) {
    const t = v['#text']
    if (typeof t === 'string') return t
    // An empty element with attributes only (`<val xsi:type="xsd:string"/>`).
    if (Object.keys(v).every((k) => k.startsWith('@_'))) return ''
  }
  return undefined
}

/** A parsed moref element → Moref; anything else → undefined. */
export function toMoref(v: XmlValue | undefined): Moref | undefined {
  if (!isObject(v)) return undefined
  const type = v['@_type']
  const value = v['#text']
  return typeof type === 'string' && typeof value === 'string' ? { type, value } : undefined
}

/** Like toMoref, but a missing moref is a protocol error. */
export function mustMoref(v: XmlValue | undefined, what: string): Moref {
  const m = toMoref(v)
  if (!m) throw new Error(`vim25: expected a ManagedObjectReference for ${what}`)
  return m
}

/**
 * Unwraps a property value: leaves typed `xsd:*` or an enum become their text, a moref a Moref,
 * data objects (with child elements) stay trees with their `@_xsi:type`.
 */
export function unwrap(v: XmlValue | undefined): XmlValue | Moref | undefined {
  if (!isObject(v)) return v
  const kids = Object.keys(v).filter((k) => !k.startsWith('@_') && k !== '#text')
  if (kids.length) return v
  if (v[XSI_TYPE] === 'ManagedObjectReference' || (typeof v['@_type'] === 'string' && typeof v['#text'] === 'string' && !(XSI_TYPE in v))) {
    return toMoref(v)
  }
  return text(v) ?? v
}

/** Dotted child lookup in a parsed tree: `at(dev, 'backing', 'fileName')`. */
export function at(v: XmlValue | undefined, ...path: string[]): XmlValue | undefined {
  let cur: XmlValue | undefined = v
  for (const p of path) {
    if (!isObject(cur)) return undefined
    cur = cur[p]
  }
  return cur
}

/** The text at a path, or undefined. */
export function str(v: XmlValue | undefined, ...path: string[]): string | undefined {
  return text(at(v, ...path))
}

/** A number at a path; NaN-free (undefined when absent or not numeric). */
export function num(v: XmlValue | undefined, ...path: string[]): number | undefined {
  const s = str(v, ...path)
  if (s === undefined || s.trim() === '') return undefined
  const n = Number(s)
  return Number.isFinite(n) ? n : undefined
}

export function bool(v: XmlValue | undefined, ...path: string[]): boolean | undefined {
  const s = str(v, ...path)
  return s === undefined ? undefined : s === 'true' || s === '1'
}
