#!/usr/bin/env bash
# hyperv-lab.sh up|down|status|env|check|ps|ps-big|vm-state|guest-write|disk-raw|fault|delete-file|rct-info|rct-reset|logs
#
# An emulated Hyper-V host for the Hyper-V driver's tests: a private sshd (Debian's openssh-server,
# not the system sshd or /etc/ssh) on 127.0.0.1 whose user gets a ForceCommand shim that behaves
# like Windows OpenSSH + cmd.exe in front of the REAL PowerShell (pwsh 7.6.10, a .NET tool), SFTP
# with Windows-style paths (/C:/Hyper-V/...) and a `Hyper-V` PowerShell module on the module path.
# Files: test/lab/hyperv/ (shim.sh, sftp-chroot.sh, startup.ps1, modules/, host-seed.json, virtdisk.c);
# notes: LAB-NOTES.md, RCT-NOTES.md (recovery snapshots, reference points, Resilient Change Tracking).
#
#   up      Idempotent.  Installs what is missing (apt: openssh-server openssh-client qemu-utils jq gcc;
#           the pwsh .NET tool into the state dir), makes the lab user, keys, password, config,
#           C: tree, the host model (<state>/host/vms.json from hyperv/host-seed.json, when missing)
#           and its disk files (qemu-img), the VirtDisk.dll (gcc), then starts sshd unless the recorded one is alive, ours, runs the current
#           config and shows our host key.  A dead (kill -9) or stale one is cleaned up and
#           restarted.  Refuses a port held by another process.  Timings on stderr; last line on
#           stdout: the path of hyperv.json.
#   down    Stops the lab's sshd (SIGTERM, SIGKILL after 5 s); installed tools, keys and the C:
#           tree stay.  `down --purge` also removes the state dir and the lab user.
#   status  Exit 0 when the recorded sshd is alive, ours and answers with our host key.
#   env     export GUTS_LAB_HYPERV=<state>/hyperv.json and the connection details (fails when down);
#           use: eval "$(test/lab/hyperv-lab.sh env)"
#   check   End-to-end proof with the system's ssh/sftp clients (pinned host key, lab known_hosts,
#           never ~/.ssh): -EncodedCommand, -File, the 8,191-character limit, a refused command,
#           SFTP, password auth (sshpass), checkpoints, KVP, faults, the big host, and RCT (recovery
#           snapshots via CIM, reference points, QueryChangesVirtualDisk through P/Invoke).
#   ps SCRIPT  Runs SCRIPT (PowerShell text, or - for stdin) on the lab host the way a driver does:
#           ssh + powershell.exe -NoProfile -NonInteractive -EncodedCommand; pwsh's stdout, stderr
#           and exit code; a script over the 8,191-character command line is uploaded over SFTP and
#           run with -File, like the driver's runner.  E.g.: test/lab/hyperv-lab.sh ps 'Get-VMHost | ConvertTo-Json'
#   vm-state NAME STATE   Sets a VM's state in the host model from outside (an admin or a crash
#           on the host): Running, Off, Saved, Paused, ...  Persisted in <state>/host/vms.json.
#   guest-write NAME [DRIVE-INDEX] [OFFSET] [LENGTH] [OFFSET LENGTH]...   The running guest writes LENGTH bytes (default
#           4 KiB; a recognisable line, repeated) into its ACTIVE disk at OFFSET (default 3 MiB): the
#           AVHDX/AVHD leaf when it has checkpoints (the lab's own writer); RCT marks the blocks changed;
#           prints path, offset, length, line.
#   disk-raw WINPATH OUT   The guest-visible content of a disk (its differencing chain resolved) -> OUT.
#   fault CMDLET|METHOD [COUNT] [MESSAGE] [MATCH] | fault clear [NAME] | fault list   The next COUNT calls of a
#           Hyper-V cmdlet fail with a terminating VMMS-style error ("The operation failed." by default); of a
#           WMI method (CreateSnapshot, ConvertToReferencePoint, DestroySnapshot, DestroyReferencePoint):
#           its job fails (JobState 10, ErrorDescription MESSAGE).
#   rct-info NAME [DRIVE-INDEX]   JSON: the VM's change tracking (GUID, most recent point, granularity, kept
#           points, changes), reference points and checkpoints (RCT-NOTES.md).
#   rct-reset NAME [DRIVE-INDEX]  the host lost the disk's change tracking: a new GUID, no history.
#   delete-file WINPATH   A file of the host's C: disappears (a missing VHD).
#   ps-big SCRIPT   Like ps, on the big host HV-LAB02 (1,000 VMs; 127.0.0.1:52223).
#   logs    Prints the sshd log's path and its last lines.
#
# Env: GUTS_LAB_STATE_HYPERV   state dir (default /var/tmp/guts-lab/hyperv; not in git)
#      GUTS_LAB_HYPERV_PORT    default 52222 (127.0.0.1 only)
#      GUTS_LAB_HYPERV_BIG_PORT  the big host HV-LAB02, default 52223
#      GUTS_LAB_HYPERV_USER    the lab's OS user (default gutslab)
set -Eeuo pipefail
umask 022

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$HERE/hyperv
STATE=$(realpath -m "${GUTS_LAB_STATE_HYPERV:-/var/tmp/guts-lab/hyperv}")
export GUTS_LAB_STATE_HYPERV=$STATE
PORT=${GUTS_LAB_HYPERV_PORT:-52222}
LUSER=${GUTS_LAB_HYPERV_USER:-gutslab}
PWSH_VERSION=7.6.10
COMPUTERNAME=HV-LAB01
SSHD_BIN=/usr/sbin/sshd
SFTP_MARKER=guts-lab-sftp-subsystem   # the shim routes exactly this "command" to SFTP

LAB=$STATE/lab          # installed copies of test/lab/hyperv/* (the lab user must read them)
SSHD=$STATE/sshd        # config, host key, pid, log (root only)
CLIENT=$STATE/client    # client key, known_hosts, password (root only)
CROOT=$STATE/C          # the emulated C: drive
HOMEDIR=$STATE/home     # the lab user's Unix home (pwsh caches); not the C:\Users profile
PWSH=$STATE/pwsh/pwsh
LOGDIR=$STATE/log
JSON=$STATE/hyperv.json
CONF=$SSHD/sshd_config
PIDFILE=$SSHD/sshd.pid
HOSTKEY=$SSHD/ssh_host_ed25519_key
KEY=$CLIENT/id_ed25519
KNOWN=$CLIENT/known_hosts
PASSFILE=$CLIENT/password
# The big host HV-LAB02 (1,000 generated VMs, the inventory benchmark): a second sshd of the same
# lab (same user, keys and C: tree) on its own port; its sshd_config's SetEnv GUTS_LAB_HOST=big
# makes the shim select its model.
BIG_PORT=${GUTS_LAB_HYPERV_BIG_PORT:-52223}
BIG_COMPUTERNAME=HV-LAB02
MAIN_PORT=$PORT HOST_TAG=main
use_host() {  # use_host main|big: the sshd the process functions (render_conf, ours, up_state ...) act on
  if [[ $1 == big ]]; then PORT=$BIG_PORT CONF=$SSHD/sshd_config.big PIDFILE=$SSHD/sshd-big.pid HOST_TAG=big
  else PORT=$MAIN_PORT CONF=$SSHD/sshd_config PIDFILE=$SSHD/sshd.pid HOST_TAG=main; fi
}

say() { printf 'hyperv-lab: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
[[ $PORT =~ ^[0-9]+$ ]] && ((PORT > 0 && PORT < 65536)) || die "GUTS_LAB_HYPERV_PORT=$PORT is not a port"
[[ $BIG_PORT =~ ^[0-9]+$ ]] && ((BIG_PORT > 0 && BIG_PORT < 65536 && BIG_PORT != PORT)) || die "GUTS_LAB_HYPERV_BIG_PORT=$BIG_PORT is not a free port of its own"
[[ $LUSER =~ ^[a-z_][a-z0-9_-]*$ ]] || die "GUTS_LAB_HYPERV_USER=$LUSER is not a user name"

# --------------------------------------------------------------------------- installs
apt_install() {  # apt_install PKG...: no service of the packages may start (policy-rc.d)
  ((EUID == 0)) || die "missing packages ($*) and only root can apt-get install them"
  local t0 made_policy="" log=$LOGDIR/apt.log; t0=$(now_ms)
  export DEBIAN_FRONTEND=noninteractive
  if [[ -z $(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -print -quit 2>/dev/null) ]]; then
    say "apt package lists are empty: apt-get update"
    apt-get update -q -o DPkg::Lock::Timeout=900 >>"$log" 2>&1 ||
      { tail -n 20 "$log" >&2; die "apt-get update failed (log: $log)"; }
  fi
  # openssh-server's postinst would start (and enable) the system sshd on port 22 where services may
  # start.  A policy-rc.d answering 101 forbids that; only when there is none do we put one there
  # for the install, and remove it right after.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\n# temporary, by guts hyperv-lab.sh (apt install)\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d; made_policy=1
  fi
  local had_sshd; had_sshd=$(pgrep -x sshd -d' ' || true)
  say "apt-get install $* (log: $log)"
  local rc=0
  apt-get -o DPkg::Lock::Timeout=900 -y --no-install-recommends install "$@" >>"$log" 2>&1 || rc=$?
  [[ -n $made_policy ]] && rm -f /usr/sbin/policy-rc.d
  ((rc == 0)) || { tail -n 20 "$log" >&2; die "apt-get install $* failed (exit $rc; log: $log)"; }
  # Belt and braces: a system sshd that appeared during the install is stopped and not enabled.
  if [[ " $* " == *" openssh-server "* ]]; then
    if [[ -d /run/systemd/system ]]; then
      systemctl disable --now ssh.service ssh.socket >>"$log" 2>&1 || true
    fi
    local p
    for p in $(pgrep -x sshd || true); do
      [[ " $had_sshd " == *" $p "* ]] && continue
      tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- "$CONF" && continue
      # only listeners: a session process (child of an sshd) belongs to its listener
      [[ $(ps -o comm= -p "$(ps -o ppid= -p "$p" | tr -d ' ')" 2>/dev/null) == sshd ]] && continue
      say "stopping the system sshd (pid $p) that the install started; the lab does not use it"
      kill -TERM "$p" 2>/dev/null || true
    done
  fi
  say "apt: installed $* in $(($(now_ms) - t0)) ms"
}

ensure_packages() {
  local need=() t0; t0=$(now_ms)
  [[ -x $SSHD_BIN && -x /usr/lib/openssh/sftp-server ]] || need+=(openssh-server)
  command -v ssh >/dev/null && command -v sftp >/dev/null && command -v ssh-keygen >/dev/null || need+=(openssh-client)
  command -v qemu-img >/dev/null || need+=(qemu-utils)
  command -v jq >/dev/null || need+=(jq)   # seeds the host model, edits it (vm-state)
  command -v gcc >/dev/null && [[ -e /usr/include/stdio.h ]] || need+=(gcc libc6-dev)   # builds the lab's VirtDisk.dll
  if ((${#need[@]})); then apt_install "${need[@]}"
  else say "apt: openssh-server openssh-client qemu-utils jq gcc already installed, skipped ($(($(now_ms) - t0)) ms)"; fi
}

pwsh_version() { "$PWSH" -NoProfile -NonInteractive -Command '$PSVersionTable.PSVersion.ToString()' 2>/dev/null | tr -d '\r'; }

ensure_pwsh() {
  local t0 v log=$LOGDIR/dotnet-tool.log; t0=$(now_ms)
  # The version check starts pwsh (~1-2 s); only do it when the tool's store says otherwise.
  if [[ -x $PWSH && -d $STATE/pwsh/.store/powershell/$PWSH_VERSION ]]; then
    say "pwsh $PWSH_VERSION already installed ($PWSH), skipped"
    return 0
  fi
  command -v dotnet >/dev/null || die "pwsh is missing and there is no 'dotnet' (the .NET SDK) to install it with"
  if [[ -x $PWSH ]]; then
    say "pwsh in $STATE/pwsh is not $PWSH_VERSION: reinstalling"
    dotnet tool uninstall PowerShell --tool-path "$STATE/pwsh" >>"$log" 2>&1 || rm -rf "$STATE/pwsh"
  fi
  say "installing pwsh: dotnet tool install PowerShell --version $PWSH_VERSION --tool-path $STATE/pwsh (log: $log)"
  DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 \
    dotnet tool install PowerShell --version "$PWSH_VERSION" --tool-path "$STATE/pwsh" >>"$log" 2>&1 ||
    { tail -n 20 "$log" >&2; die "dotnet tool install PowerShell $PWSH_VERSION failed (log: $log)"; }
  v=$(pwsh_version)
  [[ $v == "$PWSH_VERSION" ]] || die "installed pwsh reports version '${v:-nothing}', not $PWSH_VERSION (log: $log)"
  say "pwsh $v installed in $(($(now_ms) - t0)) ms"
}

# --------------------------------------------------------------------------- user, keys, files
ensure_user() {
  if ! id -u "$LUSER" >/dev/null 2>&1; then
    # A real login shell: sshd runs the ForceCommand through it.
    useradd --system --no-create-home --home-dir "$HOMEDIR" --shell /bin/bash --comment 'guts Hyper-V lab' "$LUSER" ||
      die "useradd $LUSER failed"
    say "created user $LUSER"
  fi
  [[ $(getent passwd "$LUSER" | cut -d: -f6) == "$HOMEDIR" ]] || usermod --home "$HOMEDIR" "$LUSER"
  mkdir -p "$HOMEDIR"; chown "$LUSER:" "$HOMEDIR"; chmod 700 "$HOMEDIR"
  # The password: generated once, kept in a 600 file, fed to chpasswd on stdin (never argv).
  if [[ ! -s $PASSFILE ]]; then
    (umask 077; head -c 18 /dev/urandom | base64 | tr '+/' '-_' >"$PASSFILE")
  fi
  chmod 600 "$PASSFILE"
  printf '%s:%s\n' "$LUSER" "$(cat "$PASSFILE")" | chpasswd || die "chpasswd for $LUSER failed"
}

ensure_keys() {
  mkdir -p "$SSHD" "$CLIENT"; chmod 700 "$SSHD" "$CLIENT"
  [[ -s $HOSTKEY ]] || { ssh-keygen -q -t ed25519 -N '' -C "guts-hyperv-lab-host" -f "$HOSTKEY" && say "generated host key $HOSTKEY"; }
  [[ -s $KEY ]] || { ssh-keygen -q -t ed25519 -N '' -C "guts-hyperv-lab-client" -f "$KEY" && say "generated client key $KEY"; }
  # sshd reads the key file as the user: it lives outside the root-only sshd/ dir
  mkdir -p "$STATE/auth"; chmod 755 "$STATE/auth"
  cp "$KEY.pub" "$STATE/auth/authorized_keys"; chmod 644 "$STATE/auth/authorized_keys"
  printf '[127.0.0.1]:%s %s\n' "$MAIN_PORT" "$(cut -d' ' -f1,2 "$HOSTKEY.pub")" "$BIG_PORT" "$(cut -d' ' -f1,2 "$HOSTKEY.pub")" >"$KNOWN"
}
host_fp() { ssh-keygen -l -E sha256 -f "$HOSTKEY.pub" | awk '{print $2}'; }

# put FILE DEST [MODE]: replace DEST only when it differs, by rename: sessions running while `up`
# runs (bash reads shim.sh as it goes, pwsh loads the module) never see a half-written file.
put() {
  local src=$1 dst=$2 mode=${3:-644}
  cmp -s "$src" "$dst" && return 0
  mkdir -p "$(dirname "$dst")"
  cp "$src" "$dst.tmp.$$" && chmod "$mode" "$dst.tmp.$$" && mv -f "$dst.tmp.$$" "$dst"
}
put_text() { local tmp; tmp=$(mktemp); printf '%s\n' "$2" >"$tmp"; put "$tmp" "$1" "${3:-644}"; rm -f "$tmp"; }

install_lab_files() {  # copies of test/lab/hyperv/* the lab user can read (the repo may not be)
  mkdir -p "$LAB"
  put "$SRC/shim.sh" "$LAB/shim.sh" 755
  put "$SRC/sftp-chroot.sh" "$LAB/sftp-chroot.sh" 755
  put "$SRC/startup.ps1" "$LAB/startup.ps1"
  put "$SRC/labtool.ps1" "$LAB/labtool.ps1"
  put_text "$LAB/computername" "$COMPUTERNAME"
  # A session configuration file: pwsh -ConfigurationFile runs its ScriptsToProcess first,
  # also under -NoProfile (this is how the C: drive exists before the client's script runs).
  put_text "$LAB/lab.pssc" "@{
    SchemaVersion = '2.0.0.0'
    SessionType = 'Default'
    ScriptsToProcess = '$LAB/startup.ps1'
}"
  mkdir -p "$STATE/sftp-mnt"   # mount point of sftp-chroot.sh's private root
  # The module's types (enums, disk code, objects) compiled once into $LAB/types/HyperV.Types.dll
  # (a session then loads a DLL instead of running the C# compiler, ~2 s), from the repo's sources
  # and BEFORE the module files are replaced (pwsh starts only when the sources changed: a warm up
  # stays fast)
  local dll stamp=$LAB/types/source.sha256 sum m=$SRC/modules/Hyper-V
  sum=$(cat "$m/HyperV.Types.ps1" "$m"/HyperV.*.cs | sha256sum)   # the files HyperV.Types.ps1 compiles
  if [[ $sum != "$(cat "$stamp" 2>/dev/null)" || ! -s $LAB/types/HyperV.Types.dll ]]; then
    dll=$("$PWSH" -NoProfile -NonInteractive -File "$m/HyperV.Types.ps1" -BuildDir "$LAB/types" 2>>"$LOGDIR/types.log" | tr -d '\r' | tail -n1) &&
      [[ -s $dll ]] || die "compiling the Hyper-V module's types failed (log: $LOGDIR/types.log)"
    find "$LAB/types" -name 'HyperV.Types.*.dll' -delete   # the hash-named DLLs of earlier versions
    printf '%s\n' "$sum" >"$stamp"
    chmod -R a+rX "$LAB/types"
    say "compiled the Hyper-V module's types: $dll"
  fi
  build_virtdisk
  local f
  while IFS= read -r f; do put "$SRC/modules/$f" "$LAB/modules/$f"; done < <(cd "$SRC/modules" && find . -type f)
  # module files no longer in the repo go (a stale function must not stay exported)
  while IFS= read -r f; do [[ -e $SRC/modules/$f ]] || rm -f "$LAB/modules/$f"; done < <(cd "$LAB/modules" && find . -type f)
}

# The lab's VirtDisk.dll (hyperv/virtdisk.c): <state>/lab/native/libvirtdisk.dll.so, the name .NET's
# native-library probing on Linux finds for [DllImport("virtdisk.dll")] (the shim puts the directory on
# LD_LIBRARY_PATH).  Built with gcc when the source's hash changed (like the C# types), by rename.
build_virtdisk() {
  local out=$LAB/native/libvirtdisk.dll.so stamp=$LAB/native/source.sha256 sum
  sum=$(sha256sum <"$SRC/virtdisk.c")
  [[ -s $out && $sum == "$(cat "$stamp" 2>/dev/null)" ]] && return 0
  command -v gcc >/dev/null || die "gcc is missing (apt-get install gcc libc6-dev): the lab builds its VirtDisk.dll with it"
  mkdir -p "$LAB/native"
  gcc -shared -fPIC -O2 -Wall -Wextra -o "$out.tmp.$$" "$SRC/virtdisk.c" 2>>"$LOGDIR/native.log" ||
    { tail -n 20 "$LOGDIR/native.log" >&2; die "building libvirtdisk.dll.so failed (log: $LOGDIR/native.log)"; }
  chmod 755 "$out.tmp.$$" && mv -f "$out.tmp.$$" "$out"
  printf '%s\n' "$sum" >"$stamp"
  chmod 755 "$LAB/native"
  say "built the lab's VirtDisk.dll: $out"
}

ensure_ctree() {  # the C: drive: the same files over SFTP (/C:/...) and in pwsh (C:\...)
  mkdir -p "$CROOT/Hyper-V/Virtual Hard Disks" "$CROOT/Hyper-V/Virtual Machines" "$CROOT/lab" "$CROOT/Users/$LUSER"
  put "$SRC/hello.ps1" "$CROOT/lab/hello.ps1"
  local sample="$CROOT/Hyper-V/Virtual Hard Disks/lab-sample.vhdx"
  [[ -s $sample ]] || qemu-img create -q -f vhdx "$sample" 64M || die "qemu-img create $sample failed"
  # Owned by the lab user: like an administrator on the host it may write anywhere on C:
  # (the driver uploads scripts over SFTP for -File).
  chown -R "$LUSER:" "$CROOT"
}

# The Hyper-V host model: <state>/host/vms.json (VMs, their drives, NICs, state), seeded from
# test/lab/hyperv/host-seed.json when missing or when the seed changed since (its hash in vms.json.seed:
# then the disks are made again too); the Hyper-V module reads and writes it (Stop-VM ...),
# so it belongs to the lab user.  Disks listed in the seed's LabDisks are real files made once with
# qemu-img: a raw image with a recognisable line at a few offsets, converted to dynamic VHDX or VHD,
# so an export can be compared byte for byte with `qemu-img convert -O raw` of the same file.
HOSTDIR=$STATE/host
MODEL=$HOSTDIR/vms.json
win_to_lab() { local p=${1#[Cc]:}; p=${p//\\//}; printf '%s%s' "$CROOT" "$p"; }   # C:\a\b -> <state>/C/a/b
make_disk() {  # make_disk WINPATH FORMAT SIZE
  local dst; dst=$(win_to_lab "$1")
  [[ -s $dst ]] && return 0
  local raw="$dst.raw.$$" bytes off
  qemu-img create -q -f raw "$raw" "$3" || die "qemu-img create $raw failed"
  bytes=$(stat -c %s "$raw")
  # three blocks with data: the start, one not on a block boundary, the last 4 KiB
  # (and one 9 MiB + 4 KiB in: beyond the first block of any block size up to 8 MiB)
  local offs=(0 $((1024 * 1024 + 512)) $((bytes - 4096)))
  ((bytes > 10 * 1024 * 1024)) && offs+=($((9 * 1024 * 1024 + 4096)))
  for off in "${offs[@]}"; do
    printf 'guts-lab %s @%d\n' "${1##*\\}" "$off" | dd of="$raw" bs=1 seek="$off" conv=notrunc status=none
  done
  local opts=()
  # force_size: keep the exact virtual size (without it qemu rounds a VHD to a CHS geometry)
  [[ $2 == vpc ]] && opts=(-o subformat=dynamic,force_size=on)
  qemu-img convert -q -f raw -O "$2" "${opts[@]}" "$raw" "$dst.tmp.$$" || { rm -f "$raw"; die "qemu-img convert to $2 failed for $dst"; }
  mv -f "$dst.tmp.$$" "$dst"; rm -f "$raw"
  say "made disk $1 ($2, $3)"
}
ensure_host_model() {
  mkdir -p "$HOSTDIR"
  local fresh="" seed; seed=$(sha256sum "$SRC/host-seed.json" | cut -c1-16)
  if [[ -s $MODEL && $(cat "$MODEL.seed" 2>/dev/null) != "$seed" ]]; then
    # the seed changed (new VMs, new disks): the host starts over from it, disks and checkpoints too
    say "host-seed.json changed: reseeding the host model and its disks"
    local vhds; vhds=$(win_to_lab 'C:\Hyper-V\Virtual Hard Disks')
    rm -f "$MODEL" "$vhds"/*.avhdx "$vhds"/*.avhd "$vhds"/*.rct "$HOSTDIR/cim-jobs.json"
    while IFS= read -r path; do rm -f "$(win_to_lab "$path")"; done < <(jq -r '.LabDisks[].Path' "$SRC/host-seed.json")
  fi
  if [[ ! -s $MODEL ]]; then
    jq 'del(.LabDisks, .LabSeedSteps, ._comment)' "$SRC/host-seed.json" >"$MODEL.tmp" && mv -f "$MODEL.tmp" "$MODEL" ||
      die "cannot seed $MODEL from $SRC/host-seed.json"
    say "seeded the host model $MODEL"; fresh=1
  fi
  local path fmt size
  while IFS=$'\t' read -r path fmt size; do make_disk "$path" "$fmt" "$size"; done < <(jq -r '.LabDisks[] | "\(.Path)\t\(.Format)\t\(.Size)"' "$SRC/host-seed.json")
  touch "$MODEL.lock"   # the lock Stop-VM/Start-VM and vm-state take; the lab user must open it
  if [[ -n $fresh ]]; then
    # guest writes between checkpoints (db01's chain), through the same code as Checkpoint-VM
    local t; t=$(now_ms)
    labtool seed "$SRC/host-seed.json" 2>>"$LOGDIR/seed.log" || die "seeding the checkpoints failed (log: $LOGDIR/seed.log; delete $MODEL to reseed)"
    say "seeded checkpoints and guest writes in $(($(now_ms) - t)) ms"
    printf '%s\n' "$seed" >"$MODEL.seed"
  fi
  chown -R "$LUSER:" "$HOSTDIR" "$CROOT"
}

# The big host's model: <state>/host-big/vms.json from hyperv/big-host.jq (1,000 VMs; regenerated
# when the generator changed), and the few small shared disk files all its VMs point to.
BIG_HOSTDIR=$STATE/host-big
BIG_MODEL=$BIG_HOSTDIR/vms.json
ensure_big_model() {
  mkdir -p "$BIG_HOSTDIR" "$CROOT/Hyper-V/Virtual Hard Disks/big"
  local sum; sum=$(sha256sum <"$SRC/big-host.jq")
  if [[ ! -s $BIG_MODEL || $sum != "$(cat "$BIG_HOSTDIR/generator.sha256" 2>/dev/null)" ]]; then
    jq -n -f "$SRC/big-host.jq" >"$BIG_MODEL.tmp" && mv -f "$BIG_MODEL.tmp" "$BIG_MODEL" || die "cannot generate $BIG_MODEL"
    printf '%s\n' "$sum" >"$BIG_HOSTDIR/generator.sha256"
    say "generated the big host's model ($(jq '.VMs | length' "$BIG_MODEL") VMs): $BIG_MODEL"
  fi
  local n
  for n in 1 2 3; do make_disk "C:\\Hyper-V\\Virtual Hard Disks\\big\\shared-$n.vhdx" vhdx 16M; done
  make_disk 'C:\Hyper-V\Virtual Hard Disks\big\shared-gen1.vhd' vpc 16M
  touch "$BIG_MODEL.lock"
  chown -R "$LUSER:" "$BIG_HOSTDIR" "$CROOT/Hyper-V/Virtual Hard Disks/big"
}

render_conf() {
  cat <<EOF
# Written by test/lab/hyperv-lab.sh on every 'up'; edits are overwritten.
# The guts Hyper-V lab's private sshd: nothing here is /etc/ssh.
Port $PORT
ListenAddress 127.0.0.1
HostKey $HOSTKEY
PidFile $PIDFILE
AuthorizedKeysFile $STATE/auth/authorized_keys
# StrictModes would refuse the key file: /var/tmp, a parent of the state dir, is world-writable.
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication yes
PermitEmptyPasswords no
KbdInteractiveAuthentication no
# No PAM: passwords are checked against /etc/shadow directly (chpasswd), no PAM session modules.
UsePAM no
PermitRootLogin no
AllowUsers $LUSER
AllowTcpForwarding no
AllowAgentForwarding no
X11Forwarding no
PermitTunnel no
PermitUserEnvironment no
PrintMotd no
PrintLastLog no
Banner none
AcceptEnv none
UseDNS no
MaxSessions 32
MaxStartups 32:50:100
LogLevel INFO
# Every session runs the shim (cmd.exe + powershell.exe), the sftp subsystem too: sshd hands it
# the marker below as SSH_ORIGINAL_COMMAND and the shim starts the chrooted sftp-server.
Subsystem sftp $SFTP_MARKER
ForceCommand $LAB/shim.sh
# which emulated host this sshd is (main: HV-LAB01, big: HV-LAB02 with 1,000 VMs); read by the shim
SetEnv GUTS_LAB_HOST=$HOST_TAG
EOF
}

write_json() {
  local pid=$1 fp pub; fp=$(host_fp); pub=$(cut -d' ' -f1,2 "$HOSTKEY.pub")
  cat >"$JSON.tmp" <<EOF
{
  "host": "127.0.0.1",
  "port": $PORT,
  "username": "$LUSER",
  "privateKeyPath": "$KEY",
  "passwordFile": "$PASSFILE",
  "hostKeyFingerprint": "$fp",
  "hostKey": "$pub",
  "knownHostsFile": "$KNOWN",
  "computerName": "$COMPUTERNAME",
  "psVersion": "$PWSH_VERSION",
  "cRoot": "$CROOT",
  "hostModel": "$MODEL",
  "sftpRoot": "/C:/",
  "maxCommandLine": 8191,
  "bigHost": { "port": $BIG_PORT, "computerName": "$BIG_COMPUTERNAME", "hostModel": "$BIG_MODEL", "pid": ${2:-null} },
  "pid": $pid,
  "log": "$LOGDIR/sshd.log"
}
EOF
  chmod 644 "$JSON.tmp"; mv -f "$JSON.tmp" "$JSON"
}

# --------------------------------------------------------------------------- processes
recorded_pid() { cat "$PIDFILE" 2>/dev/null || true; }
ours() {  # ours PID: alive, Debian's sshd, started with our config (guards against pid reuse)
  local pid=$1
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == "$SSHD_BIN" ]] || return 1
  # sshd rewrites its argv into one title ("sshd: /usr/sbin/sshd -f <conf> ... [listener] ...")
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- " -f $CONF "
}
listener() { ss -Hltnp "sport = :$PORT" 2>/dev/null | head -n3; }
# answers: the server on the port shows our host key (ssh-keyscan; no login)
answers() {
  local got; got=$(ssh-keyscan -T "${1:-5}" -t ed25519 -p "$PORT" 127.0.0.1 2>/dev/null | awk '{print $2, $3}')
  [[ -n $got && $got == "$(cut -d' ' -f1,2 "$HOSTKEY.pub")" ]]
}
stop_pid() {  # SIGTERM the listener (sessions keep running, as with a real sshd restart); SIGKILL after 5 s
  local pid=$1
  ours "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do ours "$pid" || break; sleep 0.1; done
  if ours "$pid"; then say "sshd $pid ignored SIGTERM; SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; sleep 0.2; fi
  rm -f "$PIDFILE"
}

# up_state: 0 = ours, current and answering; 1 = not running; 2 = running but must be restarted
up_state() {
  local pid; pid=$(recorded_pid)
  ours "$pid" || return 1
  [[ "$(cat "$CONF.running" 2>/dev/null)" == "$(render_conf)" ]] ||
    { say "sshd $pid runs another config; restarting"; return 2; }
  for _ in 1 2 3; do answers 5 && return 0; sleep 0.5; done
  say "sshd $pid is alive but 127.0.0.1:$PORT does not show our host key; restarting"; return 2
}

# --------------------------------------------------------------------------- commands
cmd_up() {
  local t0 t; t0=$(now_ms)
  ((EUID == 0)) || die "run as root (it makes a user, runs sshd and maybe apt-get)"
  mkdir -p "$STATE" "$LOGDIR"; chmod 755 "$STATE"
  exec 9>"$STATE/.lock"
  flock -w 900 9 || die "another 'hyperv-lab.sh up/down' holds $STATE/.lock"
  ensure_packages
  ensure_pwsh
  t=$(now_ms)
  ensure_keys
  ensure_user
  install_lab_files
  ensure_ctree
  ensure_host_model
  ensure_big_model
  say "user, keys, config, C: tree, host models: $(($(now_ms) - t)) ms"
  local main_pid big_pid
  use_host big; start_sshd; big_pid=$(recorded_pid)
  use_host main; start_sshd; main_pid=$(recorded_pid)
  write_json "$main_pid" "$big_pid"
  say "up: HV-LAB01 on 127.0.0.1:$MAIN_PORT (sshd $main_pid), HV-LAB02 on 127.0.0.1:$BIG_PORT (sshd $big_pid); whole up $(($(now_ms) - t0)) ms"
  echo "$JSON"
}

# start_sshd: the sshd of the current use_host is up, ours, current and answering afterwards
start_sshd() {
  local t; t=$(now_ms)
  render_conf >"$CONF.new"; mv -f "$CONF.new" "$CONF"; chmod 600 "$CONF"
  local st=0; up_state || st=$?
  if ((st == 0)); then say "already up: sshd $(recorded_pid) on 127.0.0.1:$PORT ($HOST_TAG)"; return 0; fi
  ((st == 2)) && stop_pid "$(recorded_pid)"
  local old; old=$(recorded_pid)
  ((st == 1)) && [[ -n $old ]] && say "recorded sshd $old ($HOST_TAG) is not running (killed?); restarting"
  rm -f "$PIDFILE"
  [[ -z $(listener) ]] || die "port $PORT on 127.0.0.1 is taken by another process: $(listener) — stop it or set GUTS_LAB_HYPERV_PORT / GUTS_LAB_HYPERV_BIG_PORT"
  mkdir -p /run/sshd; chmod 755 /run/sshd   # sshd's privilege separation dir (Debian's own path)
  "$SSHD_BIN" -t -f "$CONF" 2>>"$LOGDIR/sshd.log" || { tail -n 5 "$LOGDIR/sshd.log" >&2; die "sshd -t rejects $CONF"; }
  echo "=== $(date -Is) hyperv-lab.sh up: $SSHD_BIN -f $CONF" >>"$LOGDIR/sshd.log"
  # sshd daemonizes itself (new session, pid file); 9>&-: it must not inherit the lock fd
  "$SSHD_BIN" -f "$CONF" -E "$LOGDIR/sshd.log" </dev/null 9>&- || die "sshd failed to start (log: $LOGDIR/sshd.log)"
  local pid=""
  for _ in $(seq 1 100); do
    pid=$(recorded_pid)
    ours "$pid" && answers 2 && break
    pid=""; sleep 0.1
  done
  [[ -n $pid ]] || { tail -n 10 "$LOGDIR/sshd.log" >&2; die "sshd did not come up on 127.0.0.1:$PORT (log: $LOGDIR/sshd.log)"; }
  cp "$CONF" "$CONF.running"
  say "started sshd $pid on 127.0.0.1:$PORT ($HOST_TAG; user $LUSER, host key $(host_fp)) in $(($(now_ms) - t)) ms"
}

cmd_down() {
  local purge=""; [[ ${1:-} == --purge ]] && purge=1
  [[ -d $STATE ]] || { say "no state dir $STATE: nothing to do"; return 0; }
  exec 9>"$STATE/.lock"
  flock -w 60 9 || die "another 'hyperv-lab.sh up/down' holds $STATE/.lock"
  local pid h
  for h in main big; do
    use_host "$h"; pid=$(recorded_pid)
    if ours "$pid"; then stop_pid "$pid"; say "stopped sshd $pid ($h)"
    else say "$h: not running${pid:+ (stale pid file names $pid)}"; rm -f "$PIDFILE"; fi
  done
  use_host main
  rm -f "$JSON"
  if [[ -n $purge ]]; then
    # userdel refuses while the lab user has processes: its sessions (shim, pwsh, sftp-server),
    # listed by uid and ended by pid
    local p
    for p in $(ps -o pid= -u "$LUSER" 2>/dev/null || true); do kill -TERM "$p" 2>/dev/null || true; done
    sleep 0.2
    id -u "$LUSER" >/dev/null 2>&1 && userdel "$LUSER" && say "removed user $LUSER"
    rm -rf "$STATE"; say "removed $STATE"
  fi
}

cmd_status() {  # both hosts (HV-LAB01 and the big HV-LAB02) must be up
  local pid h rc=0
  for h in main big; do
    use_host "$h"; pid=$(recorded_pid)
    if ! ours "$pid"; then say "$h: down${pid:+ (pid file names $pid, which is not our running sshd)}"; rc=1
    elif ! answers 5; then say "$h: sshd $pid alive but 127.0.0.1:$PORT does not show our host key"; rc=1
    else say "$h: up: sshd $pid on 127.0.0.1:$PORT, user $LUSER, pwsh $PWSH_VERSION, state $STATE"; fi
  done
  use_host main
  return $rc
}

cmd_env() {
  cmd_status 2>/dev/null && [[ -s $JSON ]] || die "the Hyper-V lab is not up (run: $0 up)"
  cat <<EOF
export GUTS_LAB_HYPERV='$JSON'
export GUTS_LAB_HYPERV_HOST='127.0.0.1' GUTS_LAB_HYPERV_PORT='$PORT' GUTS_LAB_HYPERV_USER='$LUSER'
export GUTS_LAB_HYPERV_KEY='$KEY' GUTS_LAB_HYPERV_PASSWORD_FILE='$PASSFILE'
export GUTS_LAB_HYPERV_HOSTKEY_SHA256='$(host_fp)' GUTS_LAB_HYPERV_KNOWN_HOSTS='$KNOWN'
export GUTS_LAB_HYPERV_BIG_PORT='$BIG_PORT' GUTS_LAB_HYPERV_BIG_COMPUTERNAME='$BIG_COMPUTERNAME'
EOF
}

# --------------------------------------------------------------------------- check
SSH_OPTS=() KEYAUTH=()
set_ssh_opts() {
  SSH_OPTS=(-F /dev/null -p "$PORT" -o "UserKnownHostsFile=$KNOWN" -o GlobalKnownHostsFile=/dev/null
    -o StrictHostKeyChecking=yes -o HostKeyAlgorithms=ssh-ed25519 -o ConnectTimeout=10
    -o IdentitiesOnly=yes -o "IdentityFile=$KEY" -o "User=$LUSER")
  # ssh keeps the first value it sees for an option: BatchMode goes in per call, not here
  KEYAUTH=(-o BatchMode=yes -o PreferredAuthentications=publickey)
}
b64_utf16() { iconv -f UTF-8 -t UTF-16LE | base64 -w0; }

cmd_check() {
  cmd_status 2>/dev/null || die "the Hyper-V lab is not up (run: $0 up)"
  set_ssh_opts
  local t0 t out rc fails=0; t0=$(now_ms)
  ok() { say "ok   $1 ($(($(now_ms) - t)) ms)"; }
  bad() { say "FAIL $1"; fails=$((fails + 1)); }

  t=$(now_ms)
  local enc; enc=$(printf '%s' '$PSVersionTable.PSVersion.ToString(); (Get-VMHost).ComputerName' | b64_utf16)
  out=$(ssh "${SSH_OPTS[@]}" "${KEYAUTH[@]}" 127.0.0.1 "powershell.exe -NoProfile -NonInteractive -EncodedCommand $enc" 2>&1) && rc=0 || rc=$?
  out=${out//$'\r'/}
  if [[ $rc == 0 && $out == "$PWSH_VERSION"$'\n'"$COMPUTERNAME" ]]; then ok "-EncodedCommand (key auth): $(tr '\n' ' ' <<<"$out")"
  else bad "-EncodedCommand: rc=$rc output: $out"; fi

  t=$(now_ms)
  out=$(ssh "${SSH_OPTS[@]}" "${KEYAUTH[@]}" 127.0.0.1 'pwsh -noprofile -noninteractive -enc '"$enc" 2>&1) && rc=0 || rc=$?
  [[ $rc == 0 && ${out//$'\r'/} == "$PWSH_VERSION"$'\n'"$COMPUTERNAME" ]] && ok "pwsh -noprofile -noninteractive -enc" || bad "-enc lower case: rc=$rc $out"

  t=$(now_ms)
  out=$(ssh "${SSH_OPTS[@]}" "${KEYAUTH[@]}" 127.0.0.1 'powershell.exe -NoProfile -NonInteractive -File C:\lab\hello.ps1 check' 2>&1) && rc=0 || rc=$?
  if [[ $rc == 7 && $out == *"hello from C:\\lab\\hello.ps1, check"* && $out == *"VMHost=$COMPUTERNAME"* ]]; then ok "-File C:\\lab\\hello.ps1 (exit code 7 passed through)"
  else bad "-File: rc=$rc output: $out"; fi

  t=$(now_ms)
  local long; long="powershell.exe -NoProfile -NonInteractive -EncodedCommand $(head -c 9000 /dev/zero | tr '\0' A)"
  long=${long:0:9000}
  out=$(ssh "${SSH_OPTS[@]}" "${KEYAUTH[@]}" 127.0.0.1 "$long" 2>&1) && rc=0 || rc=$?
  [[ $rc == 1 && ${out//$'\r'/} == 'The command line is too long.' ]] && ok "9,000-character command: 'The command line is too long.' exit 1" || bad "long command: rc=$rc $out"

  t=$(now_ms)   # exactly at the limit it still runs: "-Command 1 <blanks> #" is 8,191 characters
  local at='powershell.exe -NoProfile -NonInteractive -Command 1'
  at+=$(printf '%*s' $((8191 - ${#at} - 1)) '')'#'
  out=$(ssh "${SSH_OPTS[@]}" "${KEYAUTH[@]}" 127.0.0.1 "$at" 2>&1) && rc=0 || rc=$?
  [[ ${#at} == 8191 && $rc == 0 && ${out//$'\r'/} == 1 ]] && ok "8,191-character command still runs" || bad "8,191 characters: rc=$rc $out"

  t=$(now_ms)
  out=$(ssh "${SSH_OPTS[@]}" "${KEYAUTH[@]}" 127.0.0.1 ls 2>&1) && rc=0 || rc=$?
  [[ $rc == 1 && $out == *"'ls' is not recognized as an internal or external command"* ]] && ok "plain 'ls' refused like cmd.exe" || bad "ls: rc=$rc $out"

  t=$(now_ms)
  out=$(printf 'ls -1 /C:/Hyper-V\nls -1 "/C:/Hyper-V/Virtual Hard Disks"\npwd\n' |
    sftp -q -b - "${SSH_OPTS[@]/#-p/-P}" "${KEYAUTH[@]}" 127.0.0.1 2>&1) && rc=0 || rc=$?
  if [[ $rc == 0 && $out == *"Virtual Hard Disks"* && $out == *"lab-sample.vhdx"* && $out == *"/C:/Users/$LUSER"* ]]; then
    ok "sftp ls /C:/Hyper-V: $(grep -v '^sftp>' <<<"$out" | tr '\n' ' ')"
  else bad "sftp: rc=$rc $out"; fi

  t=$(now_ms)
  local f="C:\\Hyper-V\\Virtual Hard Disks\\lab-sample.vhdx"
  enc=$(printf '%s' "(Get-Item '$f').Length; Test-Path 'C:\\Hyper-V\\nope.vhdx'" | b64_utf16)
  out=$(ssh "${SSH_OPTS[@]}" "${KEYAUTH[@]}" 127.0.0.1 "powershell.exe -NoProfile -NonInteractive -EncodedCommand $enc" 2>&1) && rc=0 || rc=$?
  local size; size=$(stat -c %s "$CROOT/Hyper-V/Virtual Hard Disks/lab-sample.vhdx")
  [[ $rc == 0 && ${out//$'\r'/} == "$size"$'\n'False ]] && ok "pwsh sees the SFTP tree: Get-Item '$f' = $size bytes" || bad "Get-Item: rc=$rc $out"

  # ---- the Hyper-V host model, through the module, the way a driver sees it
  local err; err=$(mktemp)
  t=$(now_ms)
  enc=$(printf '%s' 'Get-VM | Select-Object Name, State, Generation | ConvertTo-Json' | b64_utf16)
  out=$(ssh "${SSH_OPTS[@]}" "${KEYAUTH[@]}" 127.0.0.1 "powershell.exe -NoProfile -NonInteractive -EncodedCommand $enc" 2>"$err") && rc=0 || rc=$?
  local want; want=$(jq -c '[.VMs[] | {Name, Generation}]' "$MODEL")
  if [[ $rc == 0 ]] && jq -e --argjson w "$want" 'type == "array" and length == ($w | length)
       and all(.[]; (.State | type) == "number") and ([.[] | {Name, Generation}] == $w)' <<<"$out" >/dev/null; then
    ok "Get-VM | Select-Object Name, State, Generation | ConvertTo-Json: $(jq -c '[.[] | [.Name, .State]]' <<<"$out") (State as numbers)"
  else bad "Get-VM | ConvertTo-Json: rc=$rc $out $(cat "$err")"; fi

  t=$(now_ms)   # the one-element trap: a pipeline of one object is a JSON object, not an array
  enc=$(printf '%s' 'Get-VM -Name web01 | Select-Object Name, State | ConvertTo-Json -Compress' | b64_utf16)
  out=$(ssh "${SSH_OPTS[@]}" "${KEYAUTH[@]}" 127.0.0.1 "powershell.exe -NoProfile -NonInteractive -EncodedCommand $enc" 2>"$err") && rc=0 || rc=$?
  [[ $rc == 0 ]] && jq -e 'type == "object" and .Name == "web01" and (.State | type) == "number"' <<<"$out" >/dev/null &&
    ok "one VM | ConvertTo-Json is an object, not an array: $out" || bad "one-element trap: rc=$rc $out $(cat "$err")"

  # non-terminating: the script goes on (exit 0: the LAST statement succeeded; had Get-VM been the
  # last one, powershell.exe -Command/-EncodedCommand would exit 1), the error record on stderr
  t=$(now_ms)
  enc=$(printf '%s' 'Get-VM -Name nope; "continued"' | b64_utf16)
  out=$(ssh "${SSH_OPTS[@]}" "${KEYAUTH[@]}" 127.0.0.1 "powershell.exe -NoProfile -NonInteractive -EncodedCommand $enc" 2>"$err") && rc=0 || rc=$?
  if [[ $rc == 0 && ${out//$'\r'/} == continued ]] && grep -q '#< CLIXML' "$err" &&
    grep -qF 'Hyper-V was unable to find a virtual machine with name "nope".' "$err" && grep -qF 'ObjectNotFound: (nope:String) [Get-VM], VirtualizationException' "$err"; then
    ok "Get-VM -Name nope; \"continued\": non-terminating, ObjectNotFound error record on stderr, exit 0"
  else bad "Get-VM -Name nope: rc=$rc out=$out err=$(cat "$err")"; fi
  t=$(now_ms)
  enc=$(printf '%s' 'Get-VM -Name nope -ErrorAction Stop; "not reached"' | b64_utf16)
  out=$(ssh "${SSH_OPTS[@]}" "${KEYAUTH[@]}" 127.0.0.1 "powershell.exe -NoProfile -NonInteractive -EncodedCommand $enc" 2>"$err") && rc=0 || rc=$?
  [[ $rc == 1 && -z ${out//$'\r'/} ]] && grep -qF 'unable to find a virtual machine with name "nope"' "$err" &&
    ok "Get-VM -Name nope -ErrorAction Stop: terminating, exit 1" || bad "-ErrorAction Stop: rc=$rc out=$out err=$(cat "$err")"

  t=$(now_ms)
  local vhdx='C:\Hyper-V\Virtual Hard Disks\web01-os.vhdx' vfile; vfile=$(win_to_lab "$vhdx")
  enc=$(printf '%s' "Get-VHD -Path '$vhdx' | Select-Object VhdFormat, VhdType, Size, FileSize, ParentPath | ConvertTo-Json -Compress" | b64_utf16)
  out=$(ssh "${SSH_OPTS[@]}" "${KEYAUTH[@]}" 127.0.0.1 "powershell.exe -NoProfile -NonInteractive -EncodedCommand $enc" 2>"$err") && rc=0 || rc=$?
  local vsize fsize; vsize=$(qemu-img info --output=json "$vfile" | jq '."virtual-size"'); fsize=$(stat -c %s "$vfile")
  [[ $rc == 0 ]] && jq -e --argjson v "$vsize" --argjson f "$fsize" '.VhdFormat == 3 and .VhdType == 3 and .Size == $v and .FileSize == $f and .ParentPath == null' <<<"$out" >/dev/null &&
    ok "Get-VHD '$vhdx': $out (VHDX, Dynamic; Size = qemu-img's virtual size)" || bad "Get-VHD: rc=$rc $out $(cat "$err")"

  t=$(now_ms)
  local got; got=$(mktemp -d)
  out=$(printf 'get "/C:/Hyper-V/Virtual Hard Disks/web01-os.vhdx" %s/web01-os.vhdx\n' "$got" |
    sftp -q -b - "${SSH_OPTS[@]/#-p/-P}" "${KEYAUTH[@]}" 127.0.0.1 2>&1) && rc=0 || rc=$?
  if [[ $rc == 0 && $(qemu-img info --output=json "$got/web01-os.vhdx" 2>/dev/null | jq -r .format) == vhdx ]] && cmp -s "$got/web01-os.vhdx" "$vfile" &&
    qemu-img convert -O raw "$got/web01-os.vhdx" "$got/raw" && grep -qa 'guts-lab web01-os.vhdx @0' "$got/raw"; then
    ok "sftp get web01-os.vhdx: qemu-img reads vhdx, same bytes as the host's file, the seeded data inside"
  else bad "sftp get vhdx: rc=$rc $out"; fi
  rm -rf "$got" "$err"

  check_checkpoints || true   # (bad counts the failures)
  # RCT on web01 runs beside check_more (other VMs, its own fault): its lines are printed when it ends
  local rctlog; rctlog=$(mktemp)
  check_rct >"$rctlog" 2>&1 & local rctpid=$!
  check_more || true
  local rrc=0; wait "$rctpid" || rrc=$?
  cat "$rctlog" >&2
  local rfails; rfails=$(grep -c '^hyperv-lab: FAIL' "$rctlog" || true); rm -f "$rctlog"
  fails=$((fails + rfails))
  ((rrc == 0 || rfails > 0)) || bad "the RCT part ended early (exit $rrc) without saying why"

  t=$(now_ms)
  if ! command -v sshpass >/dev/null; then
    if apt-cache show sshpass >/dev/null 2>&1; then apt_install sshpass; fi
  fi
  if command -v sshpass >/dev/null; then
    t=$(now_ms)
    enc=$(printf '%s' '$env:COMPUTERNAME' | b64_utf16)
    # -f: the password from the lab's file, never on the command line
    out=$(sshpass -f "$PASSFILE" ssh "${SSH_OPTS[@]}" -o BatchMode=no -o PubkeyAuthentication=no -o PreferredAuthentications=password \
      -o NumberOfPasswordPrompts=1 127.0.0.1 "powershell.exe -NoProfile -NonInteractive -EncodedCommand $enc" 2>&1) && rc=0 || rc=$?
    [[ $rc == 0 && ${out//$'\r'/} == "$COMPUTERNAME" ]] && ok "password auth (sshpass -f)" || bad "password auth: rc=$rc $out"
  else
    say "skip password auth: Debian has no sshpass here"
  fi

  ((fails == 0)) || die "check: $fails failure(s) ($(($(now_ms) - t0)) ms)"
  say "check: all ok in $(($(now_ms) - t0)) ms"
}

# check_rct: recovery snapshots, reference points and RCT queries (hyperv/check/rct.sh)
. "$SRC/check/rct.sh"

# psrun SCRIPT: run a PowerShell script on the main host (or big with PSRUN_PORT) like a driver;
# sets PS_OUT (stdout, CR removed), PS_ERR (stderr) and PS_RC
psrun() {   # (a script longer than the command line allows is uploaded and run with -File, like the driver does)
  local e; e=$(mktemp)
  local port=${PSRUN_PORT:-$MAIN_PORT} o=("${SSH_OPTS[@]}"); o[3]=$port   # SSH_OPTS starts with -F /dev/null -p PORT
  ps_line "$1" "$port"
  PS_OUT=$(ssh "${o[@]}" "${KEYAUTH[@]}" 127.0.0.1 "$PS_LINE" 2>"$e") && PS_RC=0 || PS_RC=$?
  ps_cleanup "$port"
  PS_OUT=${PS_OUT//$'\r'/}; PS_ERR=$(cat "$e"); rm -f "$e"
}

# Checkpoint-VM -> guest-write into the AVHDX -> Get-VHD of the AVHDX -> Remove-VMSnapshot (merge) ->
# the parent holds parent + child writes (the lab's reader, qemu-img and disk-raw agree)
check_checkpoints() {
  local t out tmp base_win='C:\Hyper-V\Virtual Hard Disks\web01-os.vhdx' base; base=$(win_to_lab "$base_win")
  tmp=$(mktemp -d)
  [[ $(jq -r '.VMs[] | select(.Name == "web01") | .State' "$MODEL") == Running ]] || cmd_vm_state web01 Running 2>/dev/null
  t=$(now_ms)
  qemu-img convert -O raw "$base" "$tmp/before.raw"
  # the checkpoint name is passed as data, the way a driver does: quotes, $( ) and non-ASCII stay literal
  local script; script=$(cat <<'PS'
$n = 'guts-check ''q'' $(1) ü'
$s = Get-VM -Id '6f2b8c1e-3d4a-4b5c-9e8f-0a1b2c3d4e01' | Checkpoint-VM -SnapshotName $n -Passthru
$d = Get-VMHardDiskDrive -VMName web01 -ControllerLocation 0
$v = Get-VHD -Path $d.Path
[ordered]@{ Name = $s.Name; Type = [int]$s.SnapshotType; Frozen = $s.HardDrives[0].Path; Leaf = $d.Path; VhdFormat = [int]$v.VhdFormat; VhdType = [int]$v.VhdType
  ParentPath = $v.ParentPath; BlockSize = $v.BlockSize; Size = $v.Size; Parent = (Get-VM web01).ParentSnapshotName } | ConvertTo-Json -Compress
PS
)
  psrun "$script"
  out=$PS_OUT
  local leaf; leaf=$(jq -r .Leaf <<<"$out" 2>/dev/null)
  if [[ $PS_RC == 0 ]] && jq -e --arg b "$base_win" '.Name == "guts-check '"'q'"' $(1) ü" and .Type == 0 and .Frozen == $b and .VhdFormat == 3 and .VhdType == 4 and .ParentPath == $b and .BlockSize == 2097152 and .Size == 67108864 and .Parent == .Name and (.Leaf | test("^C:\\\\Hyper-V\\\\Virtual Hard Disks\\\\web01-os_[0-9A-F-]{36}\\.avhdx$"))' <<<"$out" >/dev/null; then
    ok "Checkpoint-VM -Passthru: $(jq -c '{Name, Leaf, VhdType, ParentPath, BlockSize}' <<<"$out")"
  else bad "Checkpoint-VM: rc=$PS_RC $out $PS_ERR"; rm -rf "$tmp"; return 1; fi

  t=$(now_ms)
  local w line; w=$(cmd_guest_write web01 0 $((5 * 1024 * 1024)) 8192) || { bad "guest-write into the avhdx"; return 1; }
  line=${w#* 5242880 8192 }
  cp "$tmp/before.raw" "$tmp/expected.raw"
  { yes "$line" 2>/dev/null || true; } | head -c 8192 | dd of="$tmp/expected.raw" bs=1M seek=5 conv=notrunc status=none
  qemu-img convert -O raw "$base" "$tmp/base-after-write.raw"
  cmd_disk_raw "$leaf" "$tmp/leaf.raw" >/dev/null
  if cmp -s "$tmp/before.raw" "$tmp/base-after-write.raw" && cmp -s "$tmp/leaf.raw" "$tmp/expected.raw"; then
    ok "guest-write went into the AVHDX only (parent unchanged); disk-raw of the chain = parent + the write"
  else bad "guest-write / disk-raw: parent changed or chain content wrong"; rm -rf "$tmp"; return 1; fi

  t=$(now_ms)
  psrun '$s = Get-VMSnapshot -VMName web01 | Where-Object Name -like "guts-check*"; $s | Remove-VMSnapshot
[ordered]@{ Path = (Get-VMHardDiskDrive -VMName web01 -ControllerLocation 0).Path; Count = @(Get-VMSnapshot -VMName web01).Count; Parent = (Get-VM web01).ParentSnapshotId } | ConvertTo-Json -Compress'
  out=$PS_OUT
  cmd_disk_raw "$base_win" "$tmp/merged.raw" >/dev/null
  qemu-img convert -O raw "$base" "$tmp/merged-qemu.raw"
  if [[ $PS_RC == 0 ]] && jq -e --arg b "$base_win" '.Path == $b and .Count == 0 and .Parent == null' <<<"$out" >/dev/null && [[ ! -e $(win_to_lab "$leaf") ]] &&
    cmp -s "$tmp/merged.raw" "$tmp/expected.raw" && cmp -s "$tmp/merged-qemu.raw" "$tmp/expected.raw" && qemu-img check -q "$base"; then
    ok "Remove-VMSnapshot merged the AVHDX into web01-os.vhdx (drive back on the parent, file gone; qemu-img reads the merged data; qemu-img check clean)"
  else bad "Remove-VMSnapshot: rc=$PS_RC $out $PS_ERR"; rm -rf "$tmp"; return 1; fi

  t=$(now_ms)   # the seeded chain of db01: two levels of writes over the base
  local dleaf; dleaf=$(jq -r '.VMs[] | select(.Name == "db01") | .HardDrives[0].Path' "$MODEL")
  cmd_disk_raw "$dleaf" "$tmp/db01.raw" >/dev/null
  if [[ $dleaf == *.avhdx ]] && [[ $(dd if="$tmp/db01.raw" bs=1M skip=3 count=1 status=none | strings | head -n1) == *"db01 base before checkpoints"* &&
    $(dd if="$tmp/db01.raw" bs=1M skip=4 count=1 status=none | strings | head -n1) == *"level 2 overwrites level 1"* &&
    $(dd if="$tmp/db01.raw" bs=1M skip=20 count=1 status=none | strings | head -n1) == *"level 1 @20M"* &&
    $(dd if="$tmp/db01.raw" bs=1M skip=40 count=1 status=none | strings | head -n1) == *"level 2 @40M"* ]]; then
    ok "db01's seeded chain (base <- before-upgrade <- nightly <- leaf) reads base, level 1 and level 2 data"
  else bad "db01 chain content"; rm -rf "$tmp"; return 1; fi
  rm -rf "$tmp"
}

# VHD checkpoints, production fallback, KVP, a fault, the big host
check_more() {
  local t rc=0 script
  t=$(now_ms)
  psrun '$s = Checkpoint-VM -Name legacy01 -SnapshotName vhd-check -Passthru
$v = Get-VHD -Path (Get-VMHardDiskDrive -VMName legacy01).Path
$o = [ordered]@{ Leaf = $v.Path; VhdFormat = [int]$v.VhdFormat; VhdType = [int]$v.VhdType; ParentPath = $v.ParentPath; State = [string]$s.State }
$s | Remove-VMSnapshot
$o.After = (Get-VMHardDiskDrive -VMName legacy01).Path
$w = Checkpoint-VM -Name app-ha01 -SnapshotName fallback -Passthru 3>&1 | Where-Object { $_ -is [Management.Automation.WarningRecord] }
$o.Warning = "$w"
Remove-VMSnapshot -VMName app-ha01 -Name fallback
$o | ConvertTo-Json -Compress'
  if [[ $PS_RC == 0 ]] && jq -e '.VhdFormat == 2 and .VhdType == 4 and .ParentPath == "C:\\Hyper-V\\Virtual Hard Disks\\legacy01.vhd" and (.Leaf | endswith(".avhd")) and .After == .ParentPath and .State == "Off" and (.Warning | test("Production checkpoints cannot be created for .app-ha01."))' <<<"$PS_OUT" >/dev/null; then
    ok "Gen 1 VHD checkpoint: $(jq -r .Leaf <<<"$PS_OUT" | sed 's/.*\\//') (VHD, Differencing) merged back; Production without the backup service falls back with a warning"
  else bad "VHD checkpoint / fallback: rc=$PS_RC $PS_OUT $PS_ERR"; rc=1; fi

  t=$(now_ms)
  script=$(cat <<'PS'
$id = (Get-VM db01).Id
$k = Get-CimInstance -Namespace root\virtualization\v2 -ClassName Msvm_KvpExchangeComponent -Filter "SystemName='$id'"
$g = @{}; foreach ($x in $k.GuestIntrinsicExchangeItems) { $n = ([xml]$x).SelectSingleNode("/INSTANCE/PROPERTY[@NAME='Name']/VALUE").InnerText; $g[$n] = ([xml]$x).SelectSingleNode("/INSTANCE/PROPERTY[@NAME='Data']/VALUE").InnerText }
$off = @(Get-CimInstance -Query "SELECT * FROM Msvm_KvpExchangeComponent WHERE SystemName = '$((Get-VM legacy01).Id)'" -Namespace root/virtualization/v2).Count
[ordered]@{ OSName = $g.OSName; OSMajorVersion = $g.OSMajorVersion; IPv4 = $g.NetworkAddressIPv4; Off = $off; Class = "$($k.CimClass)" } | ConvertTo-Json -Compress
PS
)
  psrun "$script"
  if [[ $PS_RC == 0 ]] && jq -e '.OSName == "Debian GNU/Linux" and .OSMajorVersion == "12" and .IPv4 == "10.20.0.21" and .Off == 0 and .Class == "root/virtualization/v2:Msvm_KvpExchangeComponent"' <<<"$PS_OUT" >/dev/null; then
    ok "KVP through Get-CimInstance (-Filter and -Query): $PS_OUT"
  else bad "KVP: rc=$PS_RC $PS_OUT $PS_ERR"; rc=1; fi

  t=$(now_ms)
  cmd_fault Get-VMHost 1 2>/dev/null
  # a terminating error: try/catch sees it (a non-terminating one would not be caught); like any
  # cmdlet's terminating error it ends the statement, not the script (no -ErrorAction Stop here)
  psrun 'try { Get-VMHost | Out-Null; "not reached" } catch { "caught: " + $_.FullyQualifiedErrorId + " | " + $_.Exception.Message }; "next statement runs"'
  local first=$PS_RC fout=$PS_OUT
  psrun '(Get-VMHost).ComputerName'
  if [[ $first == 0 && $fout == "caught: OperationFailed,Microsoft.HyperV.PowerShell.Commands.GetVMHost"*" | The operation failed."$'\n'"next statement runs" && $PS_RC == 0 && $PS_OUT == "$COMPUTERNAME" ]]; then
    ok "fault Get-VMHost 1: one terminating 'The operation failed.' (OperationFailed, caught by try/catch), then the cmdlet works again"
  else bad "fault: first rc=$first out=$fout; then rc=$PS_RC $PS_OUT"; rc=1; fi
  cmd_fault clear Get-VMHost 2>/dev/null

  t=$(now_ms)
  PSRUN_PORT=$BIG_PORT psrun '"{0} {1}" -f (Get-VM).Count, $env:COMPUTERNAME'
  [[ $PS_RC == 0 && $PS_OUT == "1000 $BIG_COMPUTERNAME" ]] && ok "big host on port $BIG_PORT: (Get-VM).Count = $PS_OUT" || { bad "big host: rc=$PS_RC $PS_OUT $PS_ERR"; rc=1; }
  return $rc
}

cmd_ps() {
  local script=${1:-}
  [[ -n $script ]] || die "usage: $0 ps 'PowerShell script' (or - to read it from stdin)"
  [[ $script == - ]] && script=$(cat)
  cmd_status 2>/dev/null || die "the Hyper-V lab is not up (run: $0 up)"
  set_ssh_opts
  ps_line "$script" "$PORT"
  [[ -z $PS_UPLOADED ]] && exec ssh "${SSH_OPTS[@]}" "${KEYAUTH[@]}" 127.0.0.1 "$PS_LINE" </dev/null
  say "note: the command line would be longer than 8,191 characters: the script was uploaded and runs with -File"
  local rc=0
  ssh "${SSH_OPTS[@]}" "${KEYAUTH[@]}" 127.0.0.1 "$PS_LINE" </dev/null || rc=$?
  ps_cleanup "$PORT"
  return $rc
}

# ps_line SCRIPT PORT: PS_LINE = the command line a driver sends for SCRIPT.  Over cmd.exe's 8,191
# characters, what the driver's runner does: the script is uploaded over SFTP (UTF-8 with a BOM) to the
# user's profile and PS_LINE runs it with -File; PS_UPLOADED names it for ps_cleanup.
PS_LINE="" PS_UPLOADED=""
ps_line() {
  local script=$1 port=$2
  PS_UPLOADED="" PS_LINE="powershell.exe -NoProfile -NonInteractive -EncodedCommand $(printf '%s' "$script" | b64_utf16)"
  ((${#PS_LINE} <= 8191)) && return 0
  local tmp name o=("${SSH_OPTS[@]}"); o[3]=$port   # SSH_OPTS starts with -F /dev/null -p PORT
  tmp=$(mktemp); name="guts-lab-ps-$$-$RANDOM.ps1"
  { printf '\xef\xbb\xbf'; printf '%s' "$script"; } >"$tmp"
  printf 'put %s /C:/Users/%s/%s\n' "$tmp" "$LUSER" "$name" | sftp -q -b - "${o[@]/#-p/-P}" "${KEYAUTH[@]}" 127.0.0.1 >/dev/null ||
    { rm -f "$tmp"; die "sftp upload of the script failed"; }
  rm -f "$tmp"
  PS_UPLOADED=$name
  PS_LINE="powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File \"C:\\Users\\$LUSER\\$name\""
}
ps_cleanup() {
  [[ -n $PS_UPLOADED ]] || return 0
  local o=("${SSH_OPTS[@]}"); o[3]=$1
  printf 'rm /C:/Users/%s/%s\n' "$LUSER" "$PS_UPLOADED" | sftp -q -b - "${o[@]/#-p/-P}" "${KEYAUTH[@]}" 127.0.0.1 >/dev/null 2>&1 || true
  PS_UPLOADED=""
}

# --------------------------------------------------------------------------- the host model from outside
VMSTATES=' Other Running Off Stopping Saved Paused Starting Reset Saving Pausing Resuming FastSaved FastSaving '
# model_edit JQ-PROGRAM ARGS...: rewrite vms.json under the lock the Hyper-V module takes (.NET's
# FileShare.None is flock(LOCK_EX) on Linux), by rename, owned by the lab user
model_edit() {
  [[ -s $MODEL ]] || die "no host model $MODEL (run: $0 up)"
  local tmp="$MODEL.tmp.$$"
  (
    flock -w 10 8 || exit 1
    jq "$@" "$MODEL" >"$tmp" && [[ -s $tmp ]] && chown "$LUSER:" "$tmp" && mv -f "$tmp" "$MODEL"
  ) 8>>"$MODEL.lock" || { rm -f "$tmp"; die "cannot update $MODEL"; }
}
vm_json() { jq -e --arg n "$1" '.VMs[] | select(.Name == $n)' "$MODEL" 2>/dev/null || die "no VM named '$1' in $MODEL"; }

cmd_vm_state() {  # vm-state NAME STATE: what happens on the host without the driver (an admin, a crash)
  local name=${1:-} st=${2:-}
  [[ -n $name && $VMSTATES == *" $st "* ]] || die "usage: $0 vm-state NAME STATE (STATE one of:$VMSTATES)"
  vm_json "$name" >/dev/null
  local started=null; [[ $st == Running ]] && started=\"$(date -u +%Y-%m-%dT%H:%M:%S.%7NZ)\"
  model_edit --arg n "$name" --arg s "$st" --argjson t "$started" \
    '(.VMs[] | select(.Name == $n)) |= (.State = $s | .LabStartedAt = $t)'
  say "$name: State = $st"
}

# labtool VERB ARGS...: the lab's own disk code and module, run with the lab's pwsh as root (see
# hyperv/labtool.ps1); the environment a lab session of the main host has.
labtool() {
  [[ -x $PWSH && -s $LAB/labtool.ps1 ]] || die "the lab is not installed (run: $0 up)"
  GUTS_LAB_HYPERV_MODEL=$MODEL GUTS_LAB_HYPERV_CROOT=$CROOT GUTS_LAB_HYPERV_TYPES=$LAB/types COMPUTERNAME=$COMPUTERNAME \
    POWERSHELL_TELEMETRY_OPTOUT=1 POWERSHELL_UPDATECHECK=Off DOTNET_CLI_TELEMETRY_OPTOUT=1 NO_COLOR=1 \
    "$PWSH" -NoProfile -NonInteractive -File "$LAB/labtool.ps1" "$@"
}

# guest-write NAME [DRIVE-INDEX] [OFFSET] [LENGTH]: the running guest writes LENGTH bytes (default
# 4 KiB; any offset and length: the sectors around them are read, changed and written, as a guest's
# block layer does) into its ACTIVE disk, the drive's current Path, resolved under the
# model's lock (a checkpoint cannot freeze it meanwhile): with checkpoints that is the .avhdx/.avhd
# leaf, which the lab's own writer updates (a 2 MiB block allocated, PARTIALLY_PRESENT, sector bitmap
# bits set; nothing copied from the parent); a plain VHDX/VHD is written through qemu-io.  The frozen
# parents never change.  RCT marks the written blocks changed (HyperV.Rct.cs).  Prints path, offset,
# length, line.
cmd_guest_write() {
  (($# > 4)) && { cmd_guest_writes "$@"; return; }
  local name=${1:-} idx=${2:-0} off=${3:-$((3 * 1024 * 1024))} len=${4:-4096}
  # any OFFSET and LENGTH: like a guest's block layer, labtool writes the whole sectors around them
  [[ -n $name && $idx =~ ^[0-9]+$ && $off =~ ^[0-9]+$ && $len =~ ^[0-9]+$ ]] && ((len > 0)) ||
    die "usage: $0 guest-write NAME [DRIVE-INDEX] [OFFSET] [LENGTH]"
  local vm; vm=$(vm_json "$name")
  [[ $(jq -r .State <<<"$vm") == Running ]] || die "$name is not Running: a guest that is off writes nothing"
  local win; win=$(jq -er --argjson i "$idx" '.HardDrives[$i].Path' <<<"$vm") || die "$name has no drive $idx"
  [[ $win == *.vhdx || $win == *.vhd || $win == *.avhdx || $win == *.avhd ]] || die "drive $idx of $name is not a virtual disk file ($win)"
  local src; src=$(mktemp)
  # a recognisable line, repeated
  local line; line=$(printf 'guts-lab guest-write %s @%d %s\n' "$name" "$off" "$(date -u +%FT%TZ)")
  yes "$line" 2>/dev/null | head -c "$len" >"$src" || true   # yes ends by SIGPIPE (pipefail)
  win=$(labtool guest-write "$name" "$idx" "$off" "$src" | tr -d '\r' | tail -n1) || { rm -f "$src"; die "the guest write into drive $idx of $name failed"; }
  rm -f "$src"
  lab_owns
  echo "$win $off $len $line"
}
# guest-write NAME IDX OFF LEN OFF LEN ...: several writes of the running guest in one lab session
# (a round of writes that must land between the same two syncs; one pwsh start, not one per write)
cmd_guest_writes() {
  local name=$1 idx=$2; shift 2
  (($# % 2 == 0)) || die "usage: $0 guest-write NAME DRIVE-INDEX OFFSET LENGTH [OFFSET LENGTH]..."
  local vm; vm=$(vm_json "$name")
  [[ $(jq -r .State <<<"$vm") == Running ]] || die "$name is not Running: a guest that is off writes nothing"
  local list; list=$(mktemp)
  printf '%s\n' "$@" | jq -sc '[_nwise(2)]' >"$list"
  jq -e 'all(.[]; (.[0] | type == "number") and .[1] > 0)' "$list" >/dev/null || { rm -f "$list"; die "OFFSET and LENGTH must be numbers (LENGTH > 0)"; }
  chmod 644 "$list"
  labtool guest-writes "$name" "$idx" "$list" >/dev/null || { rm -f "$list"; die "the guest writes into drive $idx of $name failed"; }
  rm -f "$list"
  lab_owns
  echo "$name drive $idx: $(( $# / 2 )) writes"
}
# files the side doors (labtool, as root) wrote belong to the lab user, like the rest of the host
lab_owns() { chown "$LUSER:" "$MODEL" "$HOSTDIR"/*.json 2>/dev/null; chown -R "$LUSER:" "$CROOT/Hyper-V" 2>/dev/null; return 0; }

# rct-reset NAME [DRIVE-INDEX]: the host lost the disk's change tracking (what a crash that damages
# its .rct/.mrt files, or an offline resize, does): a new tracking GUID, no history; ids of before
# read ERROR_VHD_INVALID_CHANGE_TRACKING_ID; reference points keep their now stale ids.  Prints the new id.
cmd_rct_reset() {
  local name=${1:-} idx=${2:-0}
  [[ -n $name && $idx =~ ^[0-9]+$ ]] || die "usage: $0 rct-reset NAME [DRIVE-INDEX]"
  vm_json "$name" >/dev/null
  labtool rct-reset "$name" "$idx" | tr -d '\r' | tail -n1 || die "rct-reset of drive $idx of $name failed"
  lab_owns
}

# rct-info NAME [DRIVE-INDEX]: the VM's change tracking, reference points and checkpoints as the host
# model holds them (JSON; read with jq, no PowerShell: cheap enough to call around every test).
cmd_rct_info() {
  local name=${1:-} idx=${2:-}
  [[ -n $name && ( -z $idx || $idx =~ ^[0-9]+$ ) ]] || die "usage: $0 rct-info NAME [DRIVE-INDEX]"
  vm_json "$name" | jq --arg idx "$idx" -f "$SRC/rct-info.jq"
}

# disk-raw WINPATH OUT: the guest-visible content of a disk (differencing chain resolved by the lab's
# own reader through the parent locators) as a raw file; for a plain VHDX/VHD it equals
# `qemu-img convert -O raw`.  Prints OUT and its size.
cmd_disk_raw() {
  local win=${1:-} out=${2:-}
  [[ -n $win && -n $out ]] || die "usage: $0 disk-raw 'C:\\...\\disk.avhdx' OUT"
  local file; file=$(win_to_lab "$win")
  [[ -f $file ]] || die "no file $win ($file)"
  labtool raw "$file" "$(realpath -m "$out")" || die "reading the chain of $win failed"
  echo "$out $(stat -c %s "$out")"
}

# fault CMDLET [COUNT] [MESSAGE] [MATCH] / fault clear / fault list: arm a terminating error in a Hyper-V
# cmdlet of the main host (the next COUNT calls fail, default 1; MESSAGE default "The operation
# failed."), like a VMMS failure mid-export.  <state>/host/faults.json, taken under its lock.
cmd_fault() {
  local f=$HOSTDIR/faults.json what=${1:-}
  [[ -d $HOSTDIR ]] || die "no host model (run: $0 up)"
  case $what in
    clear)
      if [[ -z ${2:-} ]]; then rm -f "$f"; say "faults cleared"
      else   # clear NAME: only that one (the check's parts run side by side)
        ( flock -w 10 8 || exit 1; [[ -s $f ]] || exit 0
          jq --arg c "$2" 'del(.[$c])' "$f" >"$f.tmp.$$" && chown "$LUSER:" "$f.tmp.$$" && mv -f "$f.tmp.$$" "$f" ) 8>>"$f.lock" || die "cannot write $f"
        say "fault $2 cleared"
      fi ;;
    list | "") cat "$f" 2>/dev/null || echo '{}' ;;
    *)
      # a cmdlet (Get-VHD) or a WMI method of the emulated host (CreateSnapshot, ConvertToReferencePoint,
      # DestroySnapshot, DestroyReferencePoint: the method's job fails, JobState 10, ErrorDescription MESSAGE)
      [[ $what =~ ^[A-Za-z]+(-[A-Za-z]+)?$ ]] || die "usage: $0 fault CMDLET|METHOD [COUNT] [MESSAGE] [MATCH] | clear | list"
      local count=${2:-1} msg=${3:-The operation failed.} match=${4:-}
      [[ $count =~ ^[0-9]+$ ]] && ((count > 0)) || die "COUNT must be a positive number"
      (
        flock -w 10 8 || exit 1
        local cur='{}'; [[ -s $f ]] && cur=$(cat "$f")
        jq --arg c "$what" --argjson n "$count" --arg m "$msg" --arg x "$match" \
          '.[$c] = ({Count: $n, Message: $m} + (if $x == "" then {} else {Match: $x} end))' <<<"$cur" >"$f.tmp.$$" &&
          chown "$LUSER:" "$f.tmp.$$" && mv -f "$f.tmp.$$" "$f"
      ) 8>>"$f.lock" || die "cannot write $f"
      chown "$LUSER:" "$f.lock"
      say "fault armed: the next $count call(s) of $what${match:+ about $match} fail with: $msg"
      ;;
  esac
}

# delete-file WINPATH: a file on the host disappears (a missing VHD, a deleted parent)
cmd_delete_file() {
  local win=${1:-}
  [[ $win =~ ^[Cc]:\\ ]] || die "usage: $0 delete-file 'C:\\...'"
  local file; file=$(win_to_lab "$win")
  [[ -e $file ]] || die "no file $win"
  rm -f -- "$file"; say "deleted $win"
}

case "${1:-}" in
  up) cmd_up ;;
  down) shift; cmd_down "$@" ;;
  status) cmd_status ;;
  env) cmd_env ;;
  check) cmd_check ;;
  ps) shift; cmd_ps "$@" ;;
  ps-big) shift; use_host big; MAIN_PORT=$BIG_PORT; cmd_ps "$@" ;;
  vm-state) shift; cmd_vm_state "$@" ;;
  guest-write) shift; cmd_guest_write "$@" ;;
  rct-reset) shift; cmd_rct_reset "$@" ;;
  rct-info) shift; cmd_rct_info "$@" ;;
  disk-raw) shift; cmd_disk_raw "$@" ;;
  fault) shift; cmd_fault "$@" ;;
  delete-file) shift; cmd_delete_file "$@" ;;
  logs) echo "$LOGDIR/sshd.log"; tail -n "${2:-40}" "$LOGDIR/sshd.log" 2>/dev/null || true ;;
  *) sed -n '2,/^[^#]/{/^#/p}' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
