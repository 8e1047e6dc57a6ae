#!/bin/bash
# SFTP for the Hyper-V lab: the real /usr/lib/openssh/sftp-server, seeing paths like Windows
# OpenSSH's (/C:/Hyper-V/...).  Started by shim.sh as the lab user.
#
# sshd's ChrootDirectory cannot be used: it chroots every session of the user (the shim and pwsh
# too), and it refuses a path under /var/tmp (mode 1777).  So each SFTP session gets a private
# user + mount namespace (unprivileged; nothing outside it changes): a tmpfs root holding "C:" (a
# bind mount of <state>/C), /usr (read-only, for sftp-server and its libraries) and /dev/null and a
# one-line /etc/passwd (sftp-server wants a name for its uid), then chroot + exec sftp-server, starting in
# /C:/Users/<user> like Windows OpenSSH starts in the profile dir.
set -euo pipefail
LAB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STATE=$(dirname "$LAB")
if [[ ${1:-} != --inside ]]; then
  # --map-root-user: inside, the lab user is uid 0 with the capabilities to mount and chroot in its
  # own namespaces only; files it owns outside show as uid 0 over SFTP, everything else as nobody.
  exec unshare --user --map-root-user --mount --propagation private -- /bin/bash "${BASH_SOURCE[0]}" --inside "${USER:-gutslab}"
fi
user=$2
R=$STATE/sftp-mnt
mount -t tmpfs -o mode=0755,size=1m guts-lab-sftp "$R"
mkdir "$R/C:" "$R/usr" "$R/etc" "$R/dev"
: >"$R/dev/null"; mount --bind /dev/null "$R/dev/null"   # sftp-server opens it at start
mount --bind "$STATE/C" "$R/C:"
mount --rbind /usr "$R/usr"
mount -o remount,bind,ro "$R/usr" 2>/dev/null || true
ln -s usr/lib "$R/lib"; ln -s usr/lib64 "$R/lib64"   # the ELF interpreter and libraries
printf '%s:x:0:0:guts lab:/C:/Users/%s:/bin/false\n' "$user" "$user" >"$R/etc/passwd"
printf '%s:x:0:\n' "$user" >"$R/etc/group"
start=/C:/Users/$user; [[ -d $R$start ]] || start=/C:
exec chroot "$R" /usr/lib/openssh/sftp-server -d "$start" -l ERROR
