#!/usr/bin/env bash
# `npm run bench` (after `npm run build`): airgap against skopeo, ctr, sha256sum and the
# distribution registry (scripts/bench/). Everything runs inside an empty network namespace where
# only lo is up, so nothing the benchmarks start (registry, containerd, ctr) can reach beyond this
# machine. Options pass through: bash scripts/bench.sh --quick; --help lists them.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/bench.sh: the benchmarks must run as root: they create a network namespace (unshare -n) and start containerd." >&2
  echo "  run: sudo npm run bench" >&2
  exit 2
fi
for tool in unshare ip node; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "scripts/bench.sh: '$tool' not found; install the test lab first: bash scripts/lab-install.sh" >&2
    exit 2
  fi
done
if [ ! -f dist/scripts/bench/main.js ]; then
  echo "scripts/bench.sh: dist/scripts/bench/main.js is missing; build first: npm run build" >&2
  exit 2
fi

exec unshare -n -- bash -c 'ip link set lo up && exec node dist/scripts/bench/main.js "$@"' bench.sh "$@"
