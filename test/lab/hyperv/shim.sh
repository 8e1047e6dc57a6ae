#!/bin/bash
# ForceCommand of the Hyper-V lab's sshd (installed by test/lab/hyperv-lab.sh into <state>/lab/).
#
# Plays the part of Windows OpenSSH + cmd.exe (its default shell) in front of real PowerShell:
#   * SSH_ORIGINAL_COMMAND is what cmd.exe would get: longer than 8,191 characters -> "The command
#     line is too long." (exit 1); a program other than powershell[.exe] / pwsh[.exe] -> "'x' is not
#     recognized as an internal or external command, ..." (exit 1).
#   * powershell.exe <args> runs the real pwsh with the client's args unchanged (pwsh parses
#     -NoProfile, -noni, -enc, -EncodedCommand ... case-insensitively and by prefix, as Windows
#     PowerShell does), plus -ConfigurationFile lab.pssc (its ScriptsToProcess maps the C: drive) and
#     -NonInteractive; the C:\ path after -File is mapped into the lab's C: tree. exec: stdout, stderr
#     and the exit code are pwsh's own.
#   * the sftp subsystem (sshd_config names it by a marker, see SFTP_MARKER) -> sftp-chroot.sh: the
#     real sftp-server, chrooted so that the client sees /C:/... like on Windows OpenSSH.
set -uo pipefail
export LC_ALL=C.UTF-8   # ${#s} counts characters, not bytes, like cmd.exe's limit
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin   # sshd's default lacks chroot's /usr/sbin

LAB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STATE=$(dirname "$LAB")
CROOT=$STATE/C
SFTP_MARKER=guts-lab-sftp-subsystem
MAXLEN=8191   # cmd.exe: "the maximum length of the string that you can use at the command prompt"

cmd_err() { printf '%s\r\n' "$@" >&2; exit 1; }

line=${SSH_ORIGINAL_COMMAND-}
if [[ $line == "$SFTP_MARKER" ]]; then exec "$LAB/sftp-chroot.sh"; fi
[[ -n ${SSH_ORIGINAL_COMMAND+x} ]] || cmd_err "guts Hyper-V lab: no interactive shell here; send a command (powershell.exe ...)"
((${#line} <= MAXLEN)) || cmd_err "The command line is too long."

# Split like CommandLineToArgvW (what powershell.exe does with its command line): blanks separate,
# "..." groups, 2n backslashes before a quote -> n and the quote toggles, 2n+1 -> n and a literal ".
ARGS=()
split_cmdline() {
  local s=$1 n=${#1} i c cur="" have=0 inq=0 bs=0
  if [[ $s != *'"'* ]]; then read -r -a ARGS <<<"$s"; return; fi   # fast path: no quotes
  for ((i = 0; i < n; i++)); do
    c=${s:i:1}
    if [[ $c == '\' ]]; then bs=$((bs + 1)); have=1; continue; fi
    if [[ $c == '"' ]]; then
      while ((bs >= 2)); do cur+='\'; bs=$((bs - 2)); done
      if ((bs)); then cur+='"'; bs=0; else inq=$((1 - inq)); fi
      have=1; continue
    fi
    while ((bs)); do cur+='\'; bs=$((bs - 1)); done
    if [[ ($c == ' ' || $c == $'\t') && $inq == 0 ]]; then
      ((have)) && ARGS+=("$cur"); cur="" have=0; continue
    fi
    cur+=$c; have=1
  done
  while ((bs)); do cur+='\'; bs=$((bs - 1)); done
  ((have)) && ARGS+=("$cur")
  return 0
}
split_cmdline "$line"
((${#ARGS[@]})) || exit 0   # cmd.exe does nothing with an empty line

prog=${ARGS[0]}
base=${prog##*[\\/]}
case ${base,,} in
  powershell | powershell.exe | pwsh | pwsh.exe) ;;
  *) cmd_err "'$prog' is not recognized as an internal or external command," "operable program or batch file." ;;
esac

# C:\x\y or C:/x/y -> <state>/C/x/y (other drives stay as they are: pwsh then reports them missing)
map_path() {
  local p=$1
  if [[ $p =~ ^[cC]:[\\/] ]]; then p=${p:3}; p=$CROOT/${p//\\//}; fi
  printf '%s' "$p"
}
args=("${ARGS[@]:1}")
for ((i = 0; i < ${#args[@]}; i++)); do
  a=${args[i],,}
  # pwsh's -File and its unambiguous prefixes (-f, -fi, -fil, -file), with - or / like on Windows
  if [[ $a =~ ^[-/](f|fi|fil|file)$ ]] && ((i + 1 < ${#args[@]})); then
    args[i + 1]=$(map_path "${args[i + 1]}")
    break   # everything after the script path is the script's own arguments
  fi
  [[ $a =~ ^[-/](c|co|com|comm|comma|comman|command|e|ec|en|enc|enco|encod|encode|encoded|encodedc|encodedco|encodedcom|encodedcomm|encodedcomma|encodedcomman|encodedcommand)$ ]] && break
done

# What a Windows session has in its environment, as far as scripts look at it.
# GUTS_LAB_HOST (sshd_config SetEnv): main = HV-LAB01 (host/vms.json), big = HV-LAB02 (host-big/vms.json)
if [[ ${GUTS_LAB_HOST:-main} == big ]]; then
  export COMPUTERNAME=HV-LAB02 GUTS_LAB_HYPERV_MODEL=$STATE/host-big/vms.json
else
  export COMPUTERNAME=${GUTS_LAB_HYPERV_COMPUTERNAME:-$(cat "$LAB/computername" 2>/dev/null || echo HV-LAB01)}
  export GUTS_LAB_HYPERV_MODEL=$STATE/host/vms.json   # the Hyper-V host model the module reads and writes
fi
export USERNAME=${USER:-gutslab} USERPROFILE="C:\\Users\\${USER:-gutslab}"
export GUTS_LAB_HYPERV_CROOT=$CROOT
export GUTS_LAB_HYPERV_TYPES=$LAB/types               # the module's enum types, compiled by up
# VirtDisk.dll for scripts that P/Invoke it (virtdisk.c, built by up): .NET's probing for "virtdisk.dll"
# on Linux finds libvirtdisk.dll.so through dlopen's search path.  The directory holds nothing else.
export LD_LIBRARY_PATH=$LAB/native
# The lab's modules (Hyper-V) are found and auto-loaded like Windows' system module path;
# pwsh adds its own and the user's module dirs in front of these.
export PSModulePath=$LAB/modules
export POWERSHELL_TELEMETRY_OPTOUT=1 POWERSHELL_UPDATECHECK=Off DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
export TERM=dumb NO_COLOR=1
cd "$CROOT/Users/${USER:-gutslab}" 2>/dev/null || cd "$CROOT" || exit 1
exec "$STATE/pwsh/pwsh" -ConfigurationFile "$LAB/lab.pssc" -NonInteractive "${args[@]}"
