#!/usr/bin/env bash
# The test runner behind `npm test` (after `npm run build`): every compiled test under dist/test,
# or the paths given (`npm test -- dist/test/oci`), run by node's built-in runner inside an empty
# network namespace where only lo is up — nothing a test starts (registry, containerd, ctr) can
# reach beyond this machine, and a mirror miss fails fast instead of going upstream.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/test.sh: the tests must run as root: they create a network namespace (unshare -n) and start containerd." >&2
  echo "  run: sudo npm test" >&2
  exit 2
fi
for tool in unshare ip node; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "scripts/test.sh: '$tool' not found; install the test lab first: bash scripts/lab-install.sh" >&2
    exit 2
  fi
done
if ! unshare -n true 2>/dev/null; then
  echo "scripts/test.sh: cannot create a network namespace here (unshare -n failed); the tests need CAP_SYS_ADMIN (root outside a restricted container)" >&2
  exit 2
fi
if [ ! -d dist/test ]; then
  echo "scripts/test.sh: no compiled tests in dist/test; build first: npm run build" >&2
  exit 2
fi

# Targets: the non-option arguments (files, or directories searched for *.test.js), else all of
# dist/test. Directories are expanded here because node's runner would also run every other .js
# under a "test" directory (helpers included). Compiled tests whose test/**/*.test.ts source is
# gone (renamed or deleted, left behind in dist) are skipped. Options pass through; give their
# values with "=" (--test-name-pattern=registry).
opts=()
targets=()
add_dir() {
  local f src
  while IFS= read -r f; do
    case "$f" in
      dist/*) src="${f#dist/}"; src="${src%.js}.ts"; if [ -f "$src" ]; then targets+=("$f"); fi ;;
      *) targets+=("$f") ;;
    esac
  done < <(find "$(realpath --relative-to=. "$1")" -type f -name '*.test.js' | LC_ALL=C sort)
}
saw_target=0
for a in "$@"; do
  case "$a" in
    -*) opts+=("$a") ;;
    *)
      saw_target=1
      if [ -d "$a" ]; then add_dir "$a"; else targets+=("$a"); fi
      ;;
  esac
done
if [ "$saw_target" -eq 0 ]; then add_dir dist/test; fi
if [ "${#targets[@]}" -eq 0 ]; then
  echo "scripts/test.sh: no tests found in: ${*:-dist/test}" >&2
  exit 1
fi

# TAP output ends with node's summary lines (# pass N / # fail N); the exit status is node's.
exec unshare -n -- bash -c 'ip link set lo up && exec node --test --test-reporter=tap --test-concurrency=2 --test-timeout=180000 "$@"' test.sh "${opts[@]}" "${targets[@]}"
