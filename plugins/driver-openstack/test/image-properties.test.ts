import { describe, expect, it } from 'vitest'
import { testMapping, testVm } from '@guts/sdk/testing'
import { gibCeil, imageProperties } from '../src/image-properties.js'
import { markTag, planImport, rootDiskGiB, slug } from '../src/session.js'

describe('image properties', () => {
  it('UEFI Linux: q35, virtio disk and NIC, guest agent, distro', () => {
    expect(imageProperties({ firmware: 'uefi', secureBoot: false, os: { family: 'linux', distro: 'Ubuntu', version: '22.04' } })).toEqual({
      hw_firmware_type: 'uefi',
      hw_machine_type: 'q35',
      hw_disk_bus: 'virtio',
      hw_vif_model: 'virtio',
      os_type: 'linux',
      hw_qemu_guest_agent: 'yes',
      os_distro: 'ubuntu',
      os_version: '22.04',
    })
  })

  it('Windows with secure boot: SATA, e1000, os_secure_boot', () => {
    const p = imageProperties({ firmware: 'uefi', secureBoot: true, os: { family: 'windows' } })
    expect(p).toMatchObject({
      hw_disk_bus: 'sata',
      hw_vif_model: 'e1000',
      os_type: 'windows',
      os_distro: 'windows',
      os_secure_boot: 'required',
      hw_machine_type: 'q35',
    })
  })

  it('BIOS, unknown OS: no firmware keys and no OS hints', () => {
    const p = imageProperties({ firmware: 'bios', secureBoot: false, os: { family: 'other' } })
    expect(p).toEqual({ hw_disk_bus: 'virtio', hw_vif_model: 'virtio' })
  })

  it('mapping options override the bus (SCSI brings hw_scsi_model) and the NIC model', () => {
    const p = imageProperties({ firmware: 'bios', secureBoot: false, os: { family: 'windows' } }, { diskBus: 'scsi', vifModel: 'virtio' })
    expect(p).toMatchObject({ hw_disk_bus: 'scsi', hw_scsi_model: 'virtio-scsi', hw_vif_model: 'virtio' })
  })

  it('sizes round up to whole GiB, at least 1', () => {
    expect(gibCeil(1)).toBe(1)
    expect(gibCeil(1024 ** 3)).toBe(1)
    expect(gibCeil(1024 ** 3 + 1)).toBe(2)
  })
})

describe('import plan', () => {
  const vm = testVm({
    disks: [
      { id: 'b', index: 1, virtualSize: 3 * 1024 ** 3, format: 'raw' },
      { id: 'a', index: 0, virtualSize: 1024 ** 2, format: 'raw' },
    ],
    nics: [
      { id: 'n0', mac: '52:54:00:AA:BB:CC', network: 'VM Network' },
      { id: 'n1', mac: '52:54:00:00:00:02', network: 'Unmapped' },
    ],
  })
  const mapping = testMapping({
    name: 'Web 01',
    tags: { 'guts-migration': '3f2a9c7e-1111-2222', 'guts-source-vm': 'vm-7' },
    networks: [{ from: 'VM Network', to: 'lab-net', keepMac: true, fixedIp: '198.51.100.9' }],
  })

  it('names everything guts-<migration8>-<vm>-… from the migration id, disks in source order', () => {
    const plan = planImport(vm, mapping, {})
    expect(plan.prefix).toBe('guts-3f2a9c7e-web-01')
    expect(plan.mark).toBe('3f2a9c7e-1111-2222')
    expect(plan.disks.map((d) => [d.id, d.imageName, d.volumeName])).toEqual([
      ['a', 'guts-3f2a9c7e-web-01-disk0', null],
      ['b', 'guts-3f2a9c7e-web-01-disk1', 'guts-3f2a9c7e-web-01-disk1'],
    ])
    expect(plan.nics).toEqual([
      {
        id: 'n0',
        mac: '52:54:00:aa:bb:cc',
        keepMac: true,
        network: 'lab-net',
        fixedIp: '198.51.100.9',
        portName: 'guts-3f2a9c7e-web-01-nic0',
      },
      { id: 'n1', mac: '52:54:00:00:00:02', keepMac: true, network: null, fixedIp: null, portName: 'guts-3f2a9c7e-web-01-nic1' },
    ])
    expect(plan.format).toBe('qcow2')
    expect(rootDiskGiB(plan)).toBe(1)
    expect(planImport(vm, mapping, {})).toEqual(plan)
  })

  it('with bootFrom volume every disk becomes a volume and the flavor disk does not matter', () => {
    const plan = planImport(vm, { ...mapping, bootFrom: 'volume', diskFormat: 'raw' }, { bootFrom: 'image' })
    expect(plan.disks.every((d) => d.volumeName)).toBe(true)
    expect(plan.format).toBe('raw')
    expect(rootDiskGiB(plan)).toBe(0)
  })

  it('refuses formats Glance uploads are not made in', () => {
    expect(() => planImport(vm, { ...mapping, diskFormat: 'vmdk' }, {})).toThrow(/qcow2 or raw/)
  })

  it('marks fit Neutron tags and names', () => {
    expect(markTag('x'.repeat(100)).length).toBe(60)
    expect(slug('  Ünïcode VM__01 ')).toBe('n-code-vm-01')
  })
})
