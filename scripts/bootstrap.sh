#!/usr/bin/env bash
# Makes a fresh machine ready to run Pond and its tests, and does nothing when
# it already is: npm packages, Debian's docker.io, docker-registry, busybox-static,
# e2fsprogs (each job's /outputs filesystem), chromium (the dashboard's browser
# tests), coturn, iproute2 and iptables (the peer-to-peer tests build NATs in
# network namespaces, each with its own coturn), debootstrap (the ML templates' image,
# built by scripts/build-ml-image.sh), a Docker engine (started without
# a bridge, so no container can reach any network), the locally built test
# images, and the dashboard's browser code (dist/web/).
set -euo pipefail
cd "$(dirname "$0")/.."
state=.pond
mkdir -p "$state"

# Installs npm packages only when package-lock.json differs from what was last installed
# (its hash, stamped into node_modules/ after `npm ci`), not when its mtime is newer: a fresh
# checkout or a new git worktree has a fresh mtime on an unchanged lockfile.
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.pond-lock-sha256
if [ ! -L node_modules ] && [ -x node_modules/.bin/vitest ] && [ ! -f "$stamp" ] && [ node_modules/.package-lock.json -nt package-lock.json ]; then
  echo "$lock_hash" >"$stamp"   # installed before the stamp existed, and up to date by mtime
fi
if [ ! -x node_modules/.bin/vitest ] || [ "$(cat "$stamp" 2>/dev/null)" != "$lock_hash" ]; then
  if [ -L node_modules ]; then
    # A worktree whose node_modules links to another checkout's: `npm ci` here would empty the
    # shared folder through the link. Its owner installs; this checkout only says so.
    echo "bootstrap: node_modules links to $(readlink node_modules), which may have been installed from a different package-lock.json; not reinstalling through the link (install in that checkout if packages are missing)" >&2
  else
    # Pond runs on the Node 22 its `node` devDependency installs (npm scripts find
    # it in node_modules/.bin), and wrangler, miniflare and others require it. So
    # install under that same Node, whatever this machine's is: npm then checks
    # engines against the Node that will run them, and install scripts run on it.
    node_version=$(node -p 'require("./package-lock.json").packages["node_modules/node"]?.version ?? ""')
    [ -n "$node_version" ] || { echo "bootstrap: package-lock.json pins no \`node\` devDependency to install with" >&2; exit 1; }
    echo "bootstrap: installing npm packages (npm ci, on Node $node_version)"
    npm exec --yes --package="node@$node_version" -- npm ci --no-audit --no-fund
    echo "$lock_hash" >"$stamp"
  fi
fi

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
# A real local registry, so tests exercise image pulls without the internet.
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
[ -x /bin/busybox ] && /bin/busybox --list >/dev/null 2>&1 || missing+=(busybox-static)
# A real browser for the dashboard's tests (test/e2e/dashboard/), driven by playwright-core.
[ -x /usr/bin/chromium ] || missing+=(chromium)
# mkfs.ext4: the provider gives each job's /outputs a filesystem of the cap's size.
[ -x /sbin/mkfs.ext4 ] || [ -x /usr/sbin/mkfs.ext4 ] || missing+=(e2fsprogs)
# STUN/TURN for the NAT tests and bench:transfer; each starts its own turnserver.
command -v turnserver >/dev/null 2>&1 || missing+=(coturn)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v iptables >/dev/null 2>&1 || missing+=(iptables)
# The ML templates' PyTorch image is a debootstrap of Debian's packages, signatures checked (scripts/build-ml-image.sh).
[ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || missing+=(debian-archive-keyring)
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
  # Its own session: a Ctrl-C of `npm start` must not stop the engine before the provider has removed its containers.
  setsid nohup dockerd --bridge=none --iptables=false --ip6tables=false >"$state/dockerd.log" 2>&1 &
  echo $! >"$state/dockerd.pid"
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || { echo "bootstrap: dockerd did not come up; see $state/dockerd.log" >&2; exit 1; }
fi

bash scripts/build-test-images.sh
# wrangler dev and deploy build it too ([build] in wrangler.toml); built here as well, so a broken
# build stops `npm test` and `npm start` before anything else starts.
npm run --silent build:web
