import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml'
import type { PathSegment } from './issues.js'

/** A parsed YAML document that can say where any path is. */
export interface LocatedDocument {
  doc: Document
  lineCounter: LineCounter
  /** line/col (1-based) of the value at `path`, or of the nearest ancestor that exists. */
  locate(path: readonly PathSegment[], options?: { key?: string }): { line: number; col: number } | undefined
}

export function parseLocated(text: string): LocatedDocument {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
  const at = (offset: number) => lineCounter.linePos(offset)

  function locate(path: readonly PathSegment[], options: { key?: string } = {}) {
    let node: unknown = doc.contents
    let best: Node | undefined = isNode(node) ? node : undefined
    // For an unknown key the path ends with the key itself: walk to its map, then find the key.
    const walk = options.key && path[path.length - 1] === options.key ? path.slice(0, -1) : path
    for (const seg of walk) {
      const next = child(node, seg)
      if (next === undefined) break
      node = next.value
      best = next.keyNode && !isNode(next.value) ? next.keyNode : ((isNode(next.value) ? next.value : next.keyNode) ?? best)
    }
    // An unknown key: point at the key itself, not at the map that holds it.
    if (options.key && isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === options.key)
      if (pair && isNode(pair.key)) best = pair.key
    }
    const start = best?.range?.[0]
    return start === undefined ? undefined : at(start)
  }

  return { doc, lineCounter, locate }
}

function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && 'range' in v
}

function child(node: unknown, seg: PathSegment): { value: unknown; keyNode?: Node } | undefined {
  if (isMap(node)) {
    const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg))
    if (!pair) return undefined
    return { value: pair.value, keyNode: isNode(pair.key) ? pair.key : undefined }
  }
  if (isSeq(node) && typeof seg === 'number') {
    const item = node.items[seg]
    return item === undefined ? undefined : { value: item }
  }
  return undefined
}
