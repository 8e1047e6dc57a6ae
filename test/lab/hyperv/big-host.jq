# The model of the big host HV-LAB02 (hyperv-lab.sh up writes <state>/host-big/vms.json with
# `jq -n -f big-host.jq`): 1,000 VMs vm-0001 ... vm-1000 for the inventory benchmark.  Deterministic
# (no randomness: ids and MACs derive from the number).  Mixed generations and states, 1-3 disks,
# 1-2 NICs; the disks of all VMs point to a few small shared files (only inventory is measured).
def pad4: tostring | ("000" + .)[-4:];
def hex12: . as $n | [range(0; 12)] | map(($n / pow(16; 11 - .) | floor) % 16) | map("0123456789abcdef"[.:.+1]) | join("");
def states: ["Running", "Running", "Off", "Running", "Saved", "Off", "Paused", "Running"];
def vhd: "C:\\Hyper-V\\Virtual Hard Disks\\big\\";
{
  SchemaVersion: 1,
  VMs: [range(1; 1001) as $i | ($i | pad4) as $n | (($i % 4) == 0) as $gen1 | states[$i % 8] as $st | {
    Id: ("b16" + ($i | hex12 | .[-5:]) + "-0000-4000-8000-" + ($i | hex12)),
    Name: ("vm-" + $n),
    State: $st,
    Generation: (if $gen1 then 1 else 2 end),
    Version: (if $gen1 then "8.0" else "10.0" end),
    ProcessorCount: (1 + ($i % 8)),
    MemoryStartup: (1073741824 * (1 + ($i % 4))),
    DynamicMemoryEnabled: (($i % 3) == 0),
    MemoryMinimum: 536870912,
    MemoryMaximum: (1073741824 * (1 + ($i % 4)) * 2),
    CheckpointType: (if ($i % 10) == 0 then "Standard" else "Production" end),
    Notes: ("inventory bench VM " + $n),
    Path: ("C:\\Hyper-V\\Virtual Machines\\vm-" + $n),
    CreationTime: "2024-01-01T00:00:00.0000000Z",
    LabStartedAt: (if $st == "Running" then "2026-01-01T00:00:00.0000000Z" else null end),
    Firmware: (if $gen1 then null else {SecureBoot: (if ($i % 2) == 0 then "On" else "Off" end), SecureBootTemplate: "MicrosoftWindows", SecureBootTemplateId: "1734c6e8-3154-4dda-ba5f-a874cc483422"} end),
    Security: {TpmEnabled: (($i % 5) == 0)},
    HardDrives: [range(0; 1 + ($i % 3)) as $d | {
      ControllerType: (if $gen1 then "IDE" else "SCSI" end),
      ControllerNumber: (if $gen1 then ($d / 2 | floor) else 0 end),
      ControllerLocation: (if $gen1 then ($d % 2) else $d end),
      Path: (vhd + (if $gen1 then "shared-gen1.vhd" else "shared-" + (($d + 1) | tostring) + ".vhdx" end))
    }],
    NetworkAdapters: [range(0; 1 + ($i % 2)) as $k | {
      Id: ("5a0c1f2e-0000-4000-8" + ($k | tostring) + "00-" + ($i | hex12)),
      Name: (if $gen1 and $k == 0 then "Legacy Network Adapter" else "Network Adapter" end),
      MacAddress: ("00155D" + ($k | tostring) + ((($i | hex12) | ascii_upcase)[-5:])),
      DynamicMacAddressEnabled: true,
      SwitchName: (if ($i % 7) == 0 then "" else "vSwitch-" + (["Prod", "Dev", "DMZ"][$i % 3]) end),
      IsLegacy: ($gen1 and $k == 0),
      VlanId: (if ($i % 3) == 0 then 0 else 100 + ($i % 50) end),
      LabGuestIPAddresses: (if $st == "Running" then ["10.\(100 + $k).\($i / 256 | floor).\($i % 256)"] else [] end)
    }],
    LabKvp: (if $st == "Running" then {FullyQualifiedDomainName: ("vm-" + $n + ".bench.example"), OSName: (if ($i % 2) == 0 then "Windows Server 2019 Standard" else "Ubuntu" end), OSVersion: (if ($i % 2) == 0 then "10.0.17763" else "5.15.0" end)} else null end)
  }]
}
