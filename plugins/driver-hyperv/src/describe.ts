import type { DiskDescriptor, NicDescriptor, PowerState, VmDescriptor, VmSummary } from '@guts/sdk'
import {
  CONTROLLER_TYPE,
  CRITICAL_STATES,
  VHD_FORMAT,
  VHD_TYPE,
  VM_STATE,
  type HostDrive,
  type HostNic,
  type HostVm,
} from './host-model.js'
import { guestOs } from './os.js'
import { baseName } from './transport/paths.js'

const MiB = 1024 * 1024

/** Hyper-V's VMState → the SDK's four power states. */
export function powerState(state: number): PowerState {
  if (state === VM_STATE.Running || state === VM_STATE.Starting || state === VM_STATE.Reset) return 'on'
  if (state === VM_STATE.Off) return 'off'
  const suspended: number[] = [
    VM_STATE.Saved,
    VM_STATE.Paused,
    VM_STATE.Saving,
    VM_STATE.Pausing,
    VM_STATE.Resuming,
    VM_STATE.FastSaved,
    VM_STATE.FastSaving,
  ]
  if (suspended.includes(state)) return 'suspended'
  return 'unknown'
}

export function stateName(state: number): string {
  const hit = Object.entries(VM_STATE).find(([, v]) => v === state)?.[0]
  if (hit) return hit
  return state >= CRITICAL_STATES.first && state <= CRITICAL_STATES.last ? `critical (${state})` : `state ${state}`
}

export function summary(vm: { Id: string; Name: string; State: number }, host: string): VmSummary {
  return { id: vm.Id.toLowerCase(), name: vm.Name, powerState: powerState(vm.State), host }
}

/** `scsi0:1`, `ide1:0`: stable within the VM, the way plans and logs name a disk. */
export function diskId(d: Pick<HostDrive, 'ControllerType' | 'ControllerNumber' | 'ControllerLocation'>): string {
  return `${controllerName(d.ControllerType)}${d.ControllerNumber}:${d.ControllerLocation}`
}

function controllerName(type: number): 'ide' | 'scsi' | 'pmem' {
  return type === CONTROLLER_TYPE.IDE ? 'ide' : type === CONTROLLER_TYPE.PMEM ? 'pmem' : 'scsi'
}

/**
 * A host VM (the describe script's projection, with disk chains) → the SDK's descriptor. Disks are
 * in boot order: generation 2 firmware's first drive entry first; generation 1 boots IDE 0:0.
 * Pass-through disks and disks without a chain are kept out of `disks` (preflight reports them).
 */
export function toDescriptor(vm: HostVm, host: string): VmDescriptor {
  const drives = bootOrdered(vm).filter((d) => !d.PassThrough && d.Chain && d.Chain.length > 0)
  const disks: DiskDescriptor[] = drives.map((d, index) => {
    const chain = d.Chain!
    const leaf = chain[0]!
    const allocated = chain.reduce((n, f) => n + f.FileSize, 0)
    return {
      id: diskId(d),
      index,
      virtualSize: leaf.Size,
      allocatedSize: allocated,
      format: leaf.VhdFormat === VHD_FORMAT.VHD ? 'vpc' : 'vhdx',
      controller: d.ControllerType === CONTROLLER_TYPE.IDE ? 'ide' : 'scsi',
      thin: chain.some((f) => f.VhdType !== VHD_TYPE.Fixed),
      name: baseName(leaf.Path),
    }
  })
  const nics: NicDescriptor[] = vm.Nics.map((n) => nic(n))
  const os = guestOs(vm.Guest ?? undefined)
  return {
    ...summary(vm, host),
    cpus: vm.ProcessorCount,
    memoryMiB: Math.round(vm.MemoryStartup / MiB),
    firmware: vm.Generation === 2 ? 'uefi' : 'bios',
    secureBoot: vm.Generation === 2 && vm.Firmware?.SecureBoot === true,
    os,
    disks,
    nics,
    extra: {
      hyperv: {
        generation: vm.Generation,
        state: vm.State,
        version: vm.Version,
        checkpointType: vm.CheckpointType,
        dynamicMemory: vm.DynamicMemoryEnabled,
        memoryMinimumMiB: Math.round(vm.MemoryMinimum / MiB),
        memoryMaximumMiB: Math.round(vm.MemoryMaximum / MiB),
        tpm: vm.TpmEnabled,
        secureBootTemplate: vm.Firmware?.SecureBootTemplate ?? '',
        clustered: vm.IsClustered,
        notes: vm.Notes,
        path: vm.Path,
        created: vm.CreationTime,
        drives: vm.Disks.map((d) => ({
          id: diskId(d),
          path: d.Path,
          passThrough: d.PassThrough,
          shared: d.SupportPersistentReservations || /\.vhds$/i.test(d.Path),
          ...(d.ChainError ? { error: d.ChainError } : {}),
          chain: (d.Chain ?? []).map((f) => ({ path: f.Path, format: f.VhdFormat, type: f.VhdType, size: f.Size, fileSize: f.FileSize })),
        })),
        checkpoints: vm.Snapshots.map((s) => ({
          id: s.Id,
          name: s.Name,
          parent: s.ParentSnapshotId,
          type: s.SnapshotType,
          created: s.CreationTime,
          notes: s.Notes,
        })),
        ...(vm.Guest ? { guest: vm.Guest } : {}),
      },
    },
  }
}

function nic(n: HostNic): NicDescriptor {
  const mac = n.MacAddress.toLowerCase().replace(/[^0-9a-f]/g, '')
  return {
    id: n.Id,
    mac: mac.length === 12 ? mac.match(/../g)!.join(':') : n.MacAddress.toLowerCase(),
    // A disconnected adapter has no switch; plans map it as "" like any other network name.
    network: n.SwitchName,
    ...(n.IPAddresses.length ? { ipAddresses: n.IPAddresses } : {}),
    // The legacy adapter is an emulated DEC 21140; e1000 is the emulated NIC every guest of that age drives.
    model: n.IsLegacy ? 'e1000' : 'hyperv',
  }
}

/** Generation 2: the firmware's boot order (`Drive:<type>:<number>:<location>`), then the rest in bus order. */
function bootOrdered(vm: HostVm): HostDrive[] {
  const byBus = [...vm.Disks].sort(
    (a, b) => a.ControllerType - b.ControllerType || a.ControllerNumber - b.ControllerNumber || a.ControllerLocation - b.ControllerLocation,
  )
  const order = (vm.Firmware?.BootOrder ?? []).filter((b) => b.startsWith('Drive:'))
  const rank = (d: HostDrive) => {
    const i = order.indexOf(`Drive:${d.ControllerType}:${d.ControllerNumber}:${d.ControllerLocation}`)
    return i < 0 ? order.length : i
  }
  return byBus
    .map((d, i) => ({ d, i }))
    .sort((a, b) => rank(a.d) - rank(b.d) || a.i - b.i)
    .map((x) => x.d)
}
