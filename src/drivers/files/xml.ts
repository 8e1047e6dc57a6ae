import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { GutsError } from '@guts/sdk'

/**
 * OVF descriptors as element trees, read with fast-xml-parser (validated first, so a broken file
 * is refused with the line and column of the problem). Namespaces are not resolved: OVF files from
 * different tools bind the same namespaces to different prefixes (`ovf:`, `ns0:`, none), so every
 * lookup below works on *local* names and ignores the prefix.
 */
export interface XmlElement {
  /** Qualified name as written (`rasd:ResourceType`). */
  name: string
  /** Name without its prefix (`ResourceType`). */
  local: string
  /** Attributes by qualified name as written. */
  attrs: Record<string, string>
  children: XmlElement[]
  /** Concatenated, entity-decoded text (and CDATA) directly inside this element. */
  text: string
}

export function localName(qualified: string): string {
  const i = qualified.indexOf(':')
  return i < 0 ? qualified : qualified.slice(i + 1)
}

function xmlError(message: string): GutsError {
  return new GutsError('GUTS_UNSUPPORTED', `The OVF descriptor is not well-formed XML: ${message}.`, {
    suggestions: ['Re-export the VM, or check the .ovf file with `xmllint --noout file.ovf`.'],
  })
}

const ATTRS = ':@'
const TEXT = '#text'
const CDATA = '#cdata'

/** fast-xml-parser's ordered output: one key (the tag name, `#text` or `#cdata`) plus `:@` for attributes. */
type OrderedNode = Record<string, unknown>

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  // Values stay strings exactly as written (trimmed where the OVF reader wants it).
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  cdataPropName: CDATA,
  // Numeric character references (`&#x41;`) are decoded only with this on.
  htmlEntities: true,
})

/** Parses a document and returns its root element. */
export function parseXml(source: string): XmlElement {
  const xml = source.charCodeAt(0) === 0xfeff ? source.slice(1) : source
  const valid = XMLValidator.validate(xml)
  if (valid !== true) throw xmlError(`${valid.err.msg} (line ${valid.err.line}, column ${valid.err.col})`)
  const roots = (parser.parse(xml) as OrderedNode[]).map(toElement).filter((e): e is XmlElement => e !== undefined)
  if (roots.length > 1) throw xmlError('more than one root element')
  if (!roots[0]) throw xmlError('no root element')
  return roots[0]
}

function toElement(node: OrderedNode): XmlElement | undefined {
  const name = Object.keys(node).find((k) => k !== ATTRS)
  if (name === undefined || name === TEXT || name === CDATA) return undefined
  const element: XmlElement = { name, local: localName(name), attrs: {}, children: [], text: '' }
  for (const [k, v] of Object.entries((node[ATTRS] ?? {}) as Record<string, unknown>)) element.attrs[k] = String(v)
  for (const c of node[name] as OrderedNode[]) {
    if (TEXT in c) element.text += String(c[TEXT])
    else if (CDATA in c) element.text += (c[CDATA] as OrderedNode[]).map((t) => String(t[TEXT] ?? '')).join('')
    else {
      const child = toElement(c)
      if (child) element.children.push(child)
    }
  }
  return element
}

/** Direct children with this local name. */
export function children(el: XmlElement | undefined, local: string): XmlElement[] {
  return el ? el.children.filter((c) => c.local === local) : []
}

export function child(el: XmlElement | undefined, local: string): XmlElement | undefined {
  return el?.children.find((c) => c.local === local)
}

/** Trimmed text of the first child with this local name. */
export function childText(el: XmlElement | undefined, local: string): string | undefined {
  const c = child(el, local)
  return c ? c.text.trim() : undefined
}

/** Attribute by local name, whatever its prefix (`ovf:capacity`, `capacity`). */
export function attr(el: XmlElement | undefined, local: string): string | undefined {
  if (!el) return undefined
  for (const [k, v] of Object.entries(el.attrs)) if (k !== 'xmlns' && !k.startsWith('xmlns:') && localName(k) === local) return v
  return undefined
}

/** Every descendant (depth first) with this local name. */
export function descendants(el: XmlElement, local: string): XmlElement[] {
  const out: XmlElement[] = []
  const walk = (e: XmlElement) => {
    for (const c of e.children) {
      if (c.local === local) out.push(c)
      walk(c)
    }
  }
  walk(el)
  return out
}
