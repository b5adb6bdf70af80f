#!/usr/bin/env bash
# Installs the Debian packages the test suite drives, if any is missing:
# `make test` runs it first, so a fresh machine needs no other set-up step.
# It installs nothing when every tool is there, and needs root (or sudo)
# only when something is missing.
set -euo pipefail

# tool:package pairs. The tests fail loudly without them, never skip.
needs=(
  qemu-aarch64-static:qemu-user-static curl:curl tmux:tmux chromium:chromium
  iptables:iptables ip:iproute2 unshare:util-linux nsenter:util-linux
  promtool:prometheus zsh:zsh dig:dnsutils systemd-analyze:systemd
  avahi-browse:avahi-utils avahi-daemon:avahi-daemon dbus-daemon:dbus-daemon
  gcc:gcc git:git
)

missing=()
for pair in "${needs[@]}"; do
  tool=${pair%%:*} pkg=${pair#*:}
  if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
    missing+=("$pkg")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
echo "deps: installing ${missing[*]}" >&2
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "deps: missing ${missing[*]}; install them as root (apt-get install ${missing[*]})" >&2
    exit 1
  fi
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update
"${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
