import { describe, expect, it } from 'vitest'
import { faultError, isSessionFault } from '../src/client/faults.js'
import { readResponse, SoapFaultError } from '../src/client/soap.js'
import { fixture } from './helpers.js'

function faultOf(file: string): SoapFaultError {
  try {
    readResponse('X', 500, fixture(file))
  } catch (error) {
    if (error instanceof SoapFaultError) return error
    throw error
  }
  throw new Error('no fault')
}

describe('SOAP faults', () => {
  it('InvalidLogin → GUTS_AUTH_FAILED with the fault name in details', () => {
    const f = faultOf('invalid-login.xml').fault
    expect(f.name).toBe('InvalidLogin')
    const e = faultError('Login', f)
    expect(e.code).toBe('GUTS_AUTH_FAILED')
    expect(e.message).toMatch(/incorrect user name or password/)
    expect(e.details).toEqual({ vmware: { fault: 'InvalidLogin', method: 'Login' } })
    expect(e.suggestions.join(' ')).toMatch(/GOVC_PASSWORD/)
  })

  it('ManagedObjectNotFound (simulator prefix) → GUTS_NOT_FOUND naming the object', () => {
    const e = faultError('RetrievePropertiesEx', faultOf('not-found-vcsim.xml').fault)
    expect(e.code).toBe('GUTS_NOT_FOUND')
    expect(e.details).toEqual({ vmware: { fault: 'ManagedObjectNotFound', method: 'RetrievePropertiesEx', obj: 'VirtualMachine:vm-999' } })
  })

  it('NotAuthenticated is the one fault that means "log in again"', () => {
    const f = faultOf('not-authenticated.xml').fault
    expect(f.name).toBe('NotAuthenticated')
    expect(isSessionFault(f)).toBe(true)
    expect(isSessionFault(faultOf('invalid-login.xml').fault)).toBe(false)
  })

  it('other faults keep their name', () => {
    const e = faultError('PowerOffVM_Task', faultOf('power-fault.xml').fault)
    expect(e.code).toBe('GUTS_CONFLICT')
    expect((e.details as any).vmware.fault).toBe('InvalidPowerState')
    const other = faultError('CreateSnapshot_Task', { name: 'FileFault', message: 'disk locked' })
    expect(other.code).toBe('GUTS_DRIVER_ERROR')
    expect(other.message).toBe('vSphere CreateSnapshot_Task failed with FileFault: disk locked')
    expect((other.details as any).vmware.fault).toBe('FileFault')
  })

  it('a fault without detail is still readable', () => {
    const xml = '<Envelope><Body><Fault><faultcode>x</faultcode><faultstring>boom</faultstring></Fault></Body></Envelope>'
    expect(() => readResponse('X', 500, xml)).toThrow('X: unknown: boom')
  })
})
