#!/usr/bin/env bash
# Makes a fresh machine ready to run Pond and its tests, and does nothing when
# it already is: npm packages, Debian's docker.io, docker-registry, busybox-static, coturn, iproute2 and
# iptables (the peer-to-peer tests build NATs in network namespaces, with their own coturn), a Docker
# engine (started without a bridge, so no container can reach any network),
# and the locally built test images.
set -euo pipefail
cd "$(dirname "$0")/.."
state=.pond
mkdir -p "$state"

if [ ! -x node_modules/.bin/vitest ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "bootstrap: installing npm packages (npm ci)"
  npm ci --no-audit --no-fund
fi

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
# A real local registry, so tests exercise image pulls without the internet.
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
[ -x /bin/busybox ] && /bin/busybox --list >/dev/null 2>&1 || missing+=(busybox-static)
# STUN/TURN for the NAT tests and bench:transfer; each starts its own turnserver.
command -v turnserver >/dev/null 2>&1 || missing+=(coturn)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v iptables >/dev/null 2>&1 || missing+=(iptables)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "bootstrap: please install ${missing[*]} (e.g. sudo apt-get install -y ${missing[*]}) and run again" >&2
    exit 1
  fi
  echo "bootstrap: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian enables a system-wide coturn where systemd runs; the tests never use it, so keep it off.
  if [[ " ${missing[*]} " == *" coturn "* ]] && command -v systemctl >/dev/null 2>&1; then systemctl disable --now coturn >/dev/null 2>&1 || true; fi
fi

if ! docker info >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "bootstrap: the Docker engine is not running; start it (e.g. sudo systemctl start docker) and run again" >&2
    exit 1
  fi
  echo "bootstrap: starting dockerd (no bridge, no iptables; log in $state/dockerd.log)"
  nohup dockerd --bridge=none --iptables=false --ip6tables=false >"$state/dockerd.log" 2>&1 &
  echo $! >"$state/dockerd.pid"
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || { echo "bootstrap: dockerd did not come up; see $state/dockerd.log" >&2; exit 1; }
fi

bash scripts/build-test-images.sh
