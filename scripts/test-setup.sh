#!/usr/bin/env bash
# The Debian packages the tests need. As root (CI), install what is missing; otherwise stop and
# name them, so that nobody mistakes a missing tool for a failing test.
set -euo pipefail
# socat: pseudo-terminal pairs for serial drivers; python3-neo: an independent reader of the files
# we write; chromium: the dashboard's end-to-end test; python3-websockets, python3-protobuf,
# protobuf-compiler: the Python bus example of docs/bus.md.
needed=(socat python3-neo chromium python3-websockets python3-protobuf protobuf-compiler)
missing=()
for pkg in "${needed[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  echo "test-setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "test-setup: the tests need these Debian packages, which are not installed: ${missing[*]}" >&2
  echo "test-setup: run as root: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
