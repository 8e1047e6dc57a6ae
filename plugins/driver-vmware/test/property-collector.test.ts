import { describe, expect, it } from 'vitest'
import { retrieveAll, type Caller } from '../src/client/property-collector.js'
import { readResponse } from '../src/client/soap.js'
import { runTask } from '../src/client/tasks.js'
import type { XmlArg, XmlValue } from '../src/client/xml.js'
import { fixture } from './helpers.js'

const SC = {
  propertyCollector: { type: 'PropertyCollector', value: 'pc' },
  viewManager: { type: 'ViewManager', value: 'vm' },
  rootFolder: { type: 'Folder', value: 'group-d1' },
}

/** A scripted caller: answers by method name, records every call. */
function scripted(
  answers: Record<string, (args: Record<string, XmlArg>) => XmlValue | undefined>,
): Caller & { log: [string, Record<string, XmlArg>][] } {
  const log: [string, Record<string, XmlArg>][] = []
  return {
    serviceContent: SC,
    log,
    async call(method, args) {
      log.push([method, args])
      const a = answers[method]
      if (!a) throw new Error(`unexpected ${method}`)
      return a(args)
    },
  }
}

const view = (): XmlValue => ({ '@_type': 'ContainerView', '#text': 'session[x]view-1' })

describe('RetrievePropertiesEx paging', () => {
  it('follows tokens with ContinueRetrievePropertiesEx and destroys the view', async () => {
    const c = scripted({
      CreateContainerView: view,
      RetrievePropertiesEx: () => readResponse('RetrievePropertiesEx', 200, fixture('retrieve-page1-vcsim.xml')),
      ContinueRetrievePropertiesEx: () => readResponse('ContinueRetrievePropertiesEx', 200, fixture('retrieve-page2-vcenter.xml')),
      DestroyView: () => undefined,
    })
    const names: string[] = []
    for await (const o of retrieveAll(c, 'VirtualMachine', ['name'], { maxObjects: 1 })) names.push(String(o.props.name))
    expect(names).toEqual(['web & <db>', 'db-01', 'tmpl'])
    expect(c.log.map(([m]) => m)).toEqual(['CreateContainerView', 'RetrievePropertiesEx', 'ContinueRetrievePropertiesEx', 'DestroyView'])
    expect(c.log[1]![1].options).toEqual({ maxObjects: 1 })
    expect(c.log[2]![1].token).toBe('page-2')
    expect(c.log[3]![1]._this).toEqual({ type: 'ContainerView', value: 'session[x]view-1' })
  })

  it('cancels the paged result and destroys the view when the consumer stops early', async () => {
    const c = scripted({
      CreateContainerView: view,
      RetrievePropertiesEx: () => readResponse('RetrievePropertiesEx', 200, fixture('retrieve-page1-vcsim.xml')),
      CancelRetrievePropertiesEx: () => undefined,
      DestroyView: () => undefined,
    })
    for await (const _o of retrieveAll(c, 'VirtualMachine', ['name'])) break
    expect(c.log.map(([m]) => m)).toEqual(['CreateContainerView', 'RetrievePropertiesEx', 'CancelRetrievePropertiesEx', 'DestroyView'])
  })
})

describe('tasks', () => {
  const taskRef = (): XmlValue => ({ '@_type': 'Task', '#text': 'task-9' })
  const info = (state: string, extra = ''): XmlValue =>
    readResponse(
      'RetrievePropertiesEx',
      200,
      `<Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><Body><RetrievePropertiesExResponse><returnval><objects><obj type="Task">task-9</obj><propSet><name>info.state</name><val xsi:type="TaskInfoState">${state}</val></propSet>${extra}</objects></returnval></RetrievePropertiesExResponse></Body></Envelope>`,
    )!

  it('polls until success and returns the result', async () => {
    let polls = 0
    const c = scripted({
      CreateSnapshot_Task: taskRef,
      RetrievePropertiesEx: () =>
        ++polls < 3
          ? info('running')
          : info(
              'success',
              '<propSet><name>info.result</name><val xsi:type="ManagedObjectReference" type="VirtualMachineSnapshot">snapshot-5</val></propSet>',
            ),
    })
    const result = await runTask(c, 'CreateSnapshot_Task', { _this: { type: 'VirtualMachine', value: 'vm-1' } }, { intervalMs: 1 })
    expect(result).toEqual({ type: 'VirtualMachineSnapshot', value: 'snapshot-5' })
    expect(polls).toBe(3)
  })

  it('turns a failed task into the fault it carries', async () => {
    const c = scripted({
      PowerOffVM_Task: taskRef,
      RetrievePropertiesEx: () =>
        info(
          'error',
          '<propSet><name>info.error</name><val xsi:type="LocalizedMethodFault"><fault xsi:type="InvalidPowerState"><existingState>poweredOff</existingState></fault><localizedMessage>already off</localizedMessage></val></propSet><propSet><name>info.descriptionId</name><val xsi:type="xsd:string">VirtualMachine.powerOff</val></propSet>',
        ),
    })
    await expect(runTask(c, 'PowerOffVM_Task', {}, { intervalMs: 1 })).rejects.toMatchObject({
      code: 'GUTS_CONFLICT',
      message: 'vSphere VirtualMachine.powerOff failed with InvalidPowerState: already off',
    })
  })

  it('times out, and stops on abort', async () => {
    const c = scripted({ X_Task: taskRef, RetrievePropertiesEx: () => info('running') })
    await expect(runTask(c, 'X_Task', {}, { intervalMs: 5, timeoutMs: 20 })).rejects.toMatchObject({ code: 'GUTS_TIMEOUT' })
    const ac = new AbortController()
    setTimeout(() => ac.abort(new Error('user cancelled')), 10)
    await expect(runTask(c, 'X_Task', {}, { intervalMs: 5, timeoutMs: 60_000, signal: ac.signal })).rejects.toMatchObject({
      code: 'GUTS_ABORTED',
    })
  })
})
