#!/usr/bin/env bash
# Installs, from Debian's packages, the real components the tests run: the distribution registry,
# containerd + ctr, Docker Engine (docker.io 20.10), skopeo (the interop oracle), podman (the CRI-O oracle), htpasswd, openssl,
# ip and unshare, zstd and gzip (to make the .tar.zst / .tar.gz image archives k3s and RKE2 publish), and curl and GNU time
# for the benchmarks (npm run bench). Idempotent: does nothing when everything is already
# there. Nothing is started or enabled; tests start what they need as plain processes.
set -euo pipefail

packages=(docker-registry skopeo containerd docker.io podman apache2-utils openssl iproute2 util-linux ca-certificates tar zstd gzip curl time)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "lab-install: all test packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "lab-install: need root to install: ${missing[*]} (run: sudo bash scripts/lab-install.sh)" >&2
  exit 2
fi

echo "lab-install: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Debian starts a packaged daemon's service on install where an init system runs; the lab never
# wants the system containerd, Docker or registry running, so keep services from starting (policy-rc.d).
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod +x "$policy"
  created_policy=1
fi
trap 'if [ "$created_policy" -eq 1 ]; then rm -f "$policy"; fi' EXIT
apt-get install -y -qq "${missing[@]}" >/dev/null
echo "lab-install: done"
