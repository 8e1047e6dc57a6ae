import { isMap, isScalar, isSeq, parseDocument, type Node } from 'yaml'
import { isOnlyReferences } from './references.js'

/** Option names that hold secrets, whatever the driver (drivers add their own with `secretOptions`). */
const SECRET_KEY = /(password|passwd|secret|token|api[-_]?key|private[-_]?key|credential)/i
export const REDACTED = '<redacted>'

/**
 * The plan text as it may be stored: literal secrets replaced by a marker, `${env:…}` / `${file:…}`
 * references kept (they are resolved again by whoever resumes). Comments and layout survive.
 */
export function redactPlanText(text: string, extraSecretKeys: readonly string[] = []): { text: string; redacted: boolean } {
  const doc = parseDocument(text)
  let redacted = false
  const visit = (node: unknown) => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : ''
        const secret = SECRET_KEY.test(key) || extraSecretKeys.includes(key)
        if (secret && isScalar(pair.value) && typeof pair.value.value === 'string' && !isOnlyReferences(pair.value.value)) {
          pair.value.value = REDACTED
          redacted = true
        } else visit(pair.value)
      }
    } else if (isSeq(node)) node.items.forEach(visit)
  }
  visit(doc.contents as Node | null)
  return { text: redacted ? doc.toString() : text, redacted }
}

/** Redacts values under secret-looking keys in any JSON value (for `--json` output and errors). */
export function redactValue<T>(value: T, extraSecretKeys: readonly string[] = []): T {
  if (Array.isArray(value)) return value.map((v) => redactValue(v, extraSecretKeys)) as T
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        (SECRET_KEY.test(k) || extraSecretKeys.includes(k)) && typeof v === 'string' ? REDACTED : redactValue(v, extraSecretKeys),
      ]),
    ) as T
  }
  return value
}
