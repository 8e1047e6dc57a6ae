import type { JsonObject, VmDescriptor } from '@guts/sdk'

const GiB = 1024 ** 3

export function gibCeil(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / GiB))
}

/**
 * Glance properties that make Nova build the guest the source had: firmware, machine type, disk
 * and NIC models, OS hints. Windows gets SATA and e1000, which it drives without extra drivers;
 * everything else gets virtio. `overrides` (mapping.options diskBus / vifModel) wins, for guests
 * known to carry virtio drivers or to need SCSI.
 */
export function imageProperties(
  vm: Pick<VmDescriptor, 'firmware' | 'secureBoot' | 'os'>,
  overrides: JsonObject = {},
): Record<string, string> {
  const windows = vm.os.family === 'windows'
  const props: Record<string, string> = {}
  if (vm.firmware === 'uefi') {
    props.hw_firmware_type = 'uefi'
    // Secure boot and most UEFI guests need q35; the default i440fx has no SMM.
    props.hw_machine_type = 'q35'
  }
  if (vm.secureBoot) props.os_secure_boot = 'required'
  const bus = typeof overrides.diskBus === 'string' ? overrides.diskBus : windows ? 'sata' : 'virtio'
  props.hw_disk_bus = bus
  if (bus === 'scsi') props.hw_scsi_model = 'virtio-scsi'
  props.hw_vif_model = typeof overrides.vifModel === 'string' ? overrides.vifModel : windows ? 'e1000' : 'virtio'
  if (vm.os.family === 'linux' || windows) {
    props.os_type = vm.os.family
    props.hw_qemu_guest_agent = 'yes'
  }
  const distro = vm.os.distro ?? vm.os.id ?? (windows ? 'windows' : undefined)
  if (distro) props.os_distro = distro.toLowerCase()
  if (vm.os.version) props.os_version = vm.os.version
  return props
}
