import { GutsError } from '@guts/sdk'

/**
 * A small, tolerant XML reader for OVF descriptors: elements, attributes, text, CDATA, comments,
 * processing instructions and a DOCTYPE are understood; namespaces are not resolved. OVF files
 * from different tools bind the same namespaces to different prefixes (`ovf:`, `ns0:`, none), so
 * every lookup below works on *local* names and ignores the prefix.
 */
export interface XmlElement {
  /** Qualified name as written (`rasd:ResourceType`). */
  name: string
  /** Name without its prefix (`ResourceType`). */
  local: string
  /** Attributes by qualified name as written. */
  attrs: Record<string, string>
  children: XmlElement[]
  /** Concatenated, entity-decoded text directly inside this element. */
  text: string
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }

export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-zA-Z]+);/g, (whole, ref: string) => {
    if (ref.startsWith('#x')) return String.fromCodePoint(parseInt(ref.slice(2), 16))
    if (ref.startsWith('#')) return String.fromCodePoint(parseInt(ref.slice(1), 10))
    return ENTITIES[ref] ?? whole
  })
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

const ATTR = /([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g

/** Parses a document and returns its root element. */
export function parseXml(source: string): XmlElement {
  const stack: XmlElement[] = []
  let root: XmlElement | undefined
  let i = source.charCodeAt(0) === 0xfeff ? 1 : 0
  const appendText = (t: string) => {
    const top = stack[stack.length - 1]
    if (top) top.text += t
  }
  while (i < source.length) {
    const lt = source.indexOf('<', i)
    if (lt < 0) break
    if (lt > i) appendText(decodeEntities(source.slice(i, lt)))
    if (source.startsWith('<!--', lt)) {
      const end = source.indexOf('-->', lt + 4)
      if (end < 0) throw xmlError('unterminated comment')
      i = end + 3
    } else if (source.startsWith('<![CDATA[', lt)) {
      const end = source.indexOf(']]>', lt + 9)
      if (end < 0) throw xmlError('unterminated CDATA section')
      appendText(source.slice(lt + 9, end))
      i = end + 3
    } else if (source.startsWith('<?', lt)) {
      const end = source.indexOf('?>', lt + 2)
      if (end < 0) throw xmlError('unterminated processing instruction')
      i = end + 2
    } else if (source.startsWith('<!', lt)) {
      // DOCTYPE, possibly with an internal subset in brackets.
      const bracket = source.indexOf('[', lt)
      const close = source.indexOf('>', lt)
      const end = bracket >= 0 && bracket < close ? source.indexOf(']>', bracket) + 1 : close
      if (end <= 0) throw xmlError('unterminated declaration')
      i = end + 1
    } else if (source[lt + 1] === '/') {
      const end = source.indexOf('>', lt)
      if (end < 0) throw xmlError('unterminated end tag')
      const name = source.slice(lt + 2, end).trim()
      const open = stack.pop()
      if (!open || open.name !== name) throw xmlError(`</${name}> does not match <${open?.name ?? '(nothing)'}>`)
      i = end + 1
    } else {
      const end = findTagEnd(source, lt)
      const selfClosing = source[end - 1] === '/'
      const body = source.slice(lt + 1, selfClosing ? end - 1 : end)
      const nameEnd = body.search(/[\s/]|$/)
      const name = body.slice(0, nameEnd)
      if (!name) throw xmlError(`empty tag name at offset ${lt}`)
      const attrs: Record<string, string> = {}
      for (const m of body.slice(nameEnd).matchAll(ATTR)) attrs[m[1]!] = decodeEntities(m[2] ?? m[3] ?? '')
      const element: XmlElement = { name, local: localName(name), attrs, children: [], text: '' }
      const parent = stack[stack.length - 1]
      if (parent) parent.children.push(element)
      else if (root) throw xmlError('more than one root element')
      else root = element
      if (!selfClosing) stack.push(element)
      i = end + 1
    }
  }
  if (stack.length) throw xmlError(`<${stack[stack.length - 1]!.name}> is never closed`)
  if (!root) throw xmlError('no root element')
  return root
}

/** Index of the `>` that closes the tag starting at `lt`, skipping quoted attribute values. */
function findTagEnd(source: string, lt: number): number {
  let quote: string | undefined
  for (let j = lt + 1; j < source.length; j++) {
    const c = source[j]
    if (quote) {
      if (c === quote) quote = undefined
    } else if (c === '"' || c === "'") quote = c
    else if (c === '>') return j
  }
  throw xmlError(`unterminated tag at offset ${lt}`)
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
