#!/usr/bin/env bash
# Install a missing system tool with apt-get when we are root on Debian/Ubuntu; otherwise name the command.
# usage: apt-install.sh COMMAND APT_PACKAGE "HINT FOR OTHER SYSTEMS"
set -euo pipefail
cmd=$1 pkg=$2 hint=$3
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "installing $pkg (for $cmd) with apt-get"
  if [ ! -f /tmp/.backprop-lens-apt-updated ]; then
    apt-get update -qq && touch /tmp/.backprop-lens-apt-updated
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
elif command -v apt-get >/dev/null; then
  echo "missing '$cmd': run 'sudo apt-get install -y $pkg' and try again" >&2; exit 1
else
  echo "missing '$cmd': $hint, then try again" >&2; exit 1
fi
