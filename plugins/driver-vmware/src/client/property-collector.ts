import { throwIfAborted } from '@guts/sdk'
import { arr, isObject, mustMoref, str, unwrap, type Moref, type XmlArg, type XmlValue } from './xml.js'

/** What the property collector needs from a session; a fake in the unit tests. */
export interface Caller {
  readonly serviceContent: { propertyCollector: Moref; viewManager: Moref; rootFolder: Moref }
  call(method: string, args: Record<string, XmlArg>, signal?: AbortSignal): Promise<XmlValue | undefined>
}

export type PropValue = XmlValue | Moref | undefined

/** One object's requested properties; paths the server could not read are in `missing`. */
export interface ObjectContent {
  obj: Moref
  props: Record<string, PropValue>
  missing: string[]
}

/** Objects per page: large enough for few round trips, small enough for bounded memory. */
export const DEFAULT_PAGE = 500

/**
 * Every object of `type` under the root folder (or `container`), `pathSet` properties each,
 * paged: RetrievePropertiesEx with `maxObjects`, then ContinueRetrievePropertiesEx while the
 * server returns a token. The ContainerView is destroyed afterwards, also on failure or when the
 * consumer stops early; an unfinished paged result is cancelled so the server frees it.
 */
export async function* retrieveAll(
  caller: Caller,
  type: string,
  pathSet: string[],
  options: { maxObjects?: number; container?: Moref; signal?: AbortSignal } = {},
): AsyncGenerator<ObjectContent> {
  const sc = caller.serviceContent
  const { signal } = options
  const view = mustMoref(
    await caller.call(
      'CreateContainerView',
      { _this: sc.viewManager, container: options.container ?? sc.rootFolder, type, recursive: true },
      signal,
    ),
    'CreateContainerView',
  )
  let token: string | undefined
  try {
    const spec: XmlArg = {
      propSet: { type, pathSet },
      objectSet: {
        obj: view,
        skip: true,
        selectSet: { '@type': 'TraversalSpec', name: 'view', type: 'ContainerView', path: 'view', skip: false },
      },
    }
    let page = await caller.call(
      'RetrievePropertiesEx',
      { _this: sc.propertyCollector, specSet: spec, options: { maxObjects: options.maxObjects ?? DEFAULT_PAGE } },
      signal,
    )
    for (;;) {
      token = str(page, 'token')
      yield* readObjects(page)
      if (!token) break
      throwIfAborted(signal)
      page = await caller.call('ContinueRetrievePropertiesEx', { _this: sc.propertyCollector, token }, signal)
    }
    token = undefined
  } finally {
    if (token) await caller.call('CancelRetrievePropertiesEx', { _this: sc.propertyCollector, token }).catch(() => undefined)
    await caller.call('DestroyView', { _this: view }).catch(() => undefined)
  }
}

/** Properties of known objects (one RetrievePropertiesEx, paged the same way). */
export async function retrieve(
  caller: Caller,
  objs: Moref[],
  type: string,
  pathSet: string[],
  signal?: AbortSignal,
): Promise<ObjectContent[]> {
  if (!objs.length) return []
  const pc = caller.serviceContent.propertyCollector
  const spec: XmlArg = { propSet: { type, pathSet }, objectSet: objs.map((obj) => ({ obj })) }
  const out: ObjectContent[] = []
  let page = await caller.call('RetrievePropertiesEx', { _this: pc, specSet: spec, options: {} }, signal)
  for (;;) {
    out.push(...readObjects(page))
    const token = str(page, 'token')
    if (!token) return out
    page = await caller.call('ContinueRetrievePropertiesEx', { _this: pc, token }, signal)
  }
}

/** `RetrieveResult.objects[]` → ObjectContent; exported for the unit tests. */
export function readObjects(page: XmlValue | undefined): ObjectContent[] {
  if (!isObject(page)) return []
  return arr(page.objects).map((o) => {
    const props: Record<string, PropValue> = {}
    for (const p of arr(isObject(o) ? o.propSet : undefined)) {
      const name = str(p, 'name')
      if (name && isObject(p)) props[name] = unwrap(p.val)
    }
    const missing = arr(isObject(o) ? o.missingSet : undefined)
      .map((m) => str(m, 'path'))
      .filter((p): p is string => !!p)
    return { obj: mustMoref(isObject(o) ? o.obj : undefined, 'ObjectContent.obj'), props, missing }
  })
}
