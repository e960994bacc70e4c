#!/usr/bin/env bash
# npm run demo: the whole flow offline, inside an empty network namespace (root needed, as for npm test).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/demo.sh: run as root (it creates a network namespace and starts containerd): sudo npm run demo" >&2
  exit 2
fi
exec unshare -n -- bash -c 'ip link set lo up && exec node dist/scripts/demo.js'
