import { faultError } from '../src/client/faults.js'
import type { Caller } from '../src/client/property-collector.js'
import type { Moref, XmlArg, XmlValue } from '../src/client/xml.js'

/**
 * A scripted vim25 caller for unit tests: `answer(method, args)` returns a parsed value (see
 * `objects`) or throws (see `fault`); every call is recorded in `calls`.
 */
export function fakeCaller(
  answer: (method: string, args: Record<string, XmlArg>) => XmlValue | undefined,
): Caller & { calls: [string, Record<string, XmlArg>][]; methods: () => string[] } {
  const calls: [string, Record<string, XmlArg>][] = []
  return {
    serviceContent: {
      propertyCollector: { type: 'PropertyCollector', value: 'pc' },
      viewManager: { type: 'ViewManager', value: 'vm' },
      rootFolder: { type: 'Folder', value: 'group-d1' },
    },
    calls,
    methods: () => calls.map(([m]) => m),
    async call(method, args) {
      calls.push([method, args])
      return answer(method, args)
    },
  }
}

/** A parsed moref, as the XML parser returns it. */
export const mo = (type: string, value: string): XmlValue => ({ '@_type': type, '#text': value })

/** A parsed RetrieveResult with one object and its properties. */
export function objects(obj: Moref, props: Record<string, XmlValue>): XmlValue {
  return { objects: { obj: mo(obj.type, obj.value), propSet: Object.entries(props).map(([name, val]) => ({ name, val })) } }
}

/** The GutsError VimSession throws for a SOAP fault. */
export function fault(method: string, name: string, message = `${name} fault`): never {
  throw faultError(method, { name, message })
}

/** The `_this` moref of a recorded call. */
export const thisOf = (args: Record<string, XmlArg>): Moref => args._this as Moref
