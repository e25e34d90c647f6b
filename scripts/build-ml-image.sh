#!/usr/bin/env bash
# Builds pond-ml/digits:<hash>, the image of the shipped ML templates (templates/ml.ts), from
# Debian's packages alone: a debootstrap'd bookworm with PyTorch (CPU) and scikit-learn, trimmed
# of what a job never needs, imported into Docker, with the templates' Python code
# (templates/ml/digits/) in /opt/pond/digits. Nothing is downloaded at run time.
#
# It does as little as it can: the image, once built, is kept (the tag is a hash of the rootfs
# recipe below and of the code, so a change to either builds anew); the trimmed rootfs is kept as
# a tarball in the cache folder, so a rebuild after `docker system prune` is an import, not a
# debootstrap. One build at a time (a lock in the cache folder): a second run waits for it.
#
#   bash scripts/build-ml-image.sh                  build if missing; the last line names the image
#   bash scripts/build-ml-image.sh --print-image    only print the image's name
#
# POND_CACHE_DIR (default ~/.cache/pond) holds the tarball; POND_DEBIAN_MIRROR picks the mirror.
# debootstrap needs root.
set -euo pipefail
cd "$(dirname "$0")/.."

SUITE=bookworm
PACKAGES=python3-torch,python3-sklearn
MIRROR=${POND_DEBIAN_MIRROR:-http://deb.debian.org/debian}
CACHE=${POND_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:-/var/tmp}/.cache}/pond}
CODE_DIR=templates/ml
IMAGE_CONFIG=(
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
  --change 'ENV LANG=C.UTF-8'
  # Logs reach the creator as they are printed; the root file system is read-only in a job.
  --change 'ENV PYTHONUNBUFFERED=1'
  --change 'ENV PYTHONDONTWRITEBYTECODE=1'
  # A job runs as a user the image may not know, with only /tmp and /outputs writable.
  --change 'ENV HOME=/tmp'
  --change 'CMD ["python3"]'
)

say() { echo "ml image: $*"; }

# Paths (relative to the rootfs) no job needs: package caches and lists, headers, compilers,
# static libraries, docs, translations, test suites and GL drivers. Measured on a bookworm build:
# .debs 378M, headers 189M, gcc's back ends 120M, docs/man/locale ~130M, static libraries 103M,
# apt lists 70M, Python packages' own test suites 114M, libtorch's test binaries 78M, Mesa with
# LLVM and Z3 160M: 2.4G in all before, 1.1G after.
trim_rootfs() {
  local root=$1
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/* \
    "$root"/usr/include "$root"/usr/lib/gcc "$root"/usr/bin/*lto-dump* \
    "$root"/usr/share/doc "$root"/usr/share/man "$root"/usr/share/info "$root"/usr/share/locale \
    "$root"/usr/lib/libtorch-test
  # Mesa's GL drivers, and the LLVM and Z3 only they load: no job draws on a screen.
  rm -rf "$root"/usr/lib/x86_64-linux-gnu/dri "$root"/usr/lib/x86_64-linux-gnu/libLLVM-*.so* "$root"/usr/lib/x86_64-linux-gnu/libz3.so*
  # torch/bin's C++ test programs; torch_shm_manager beside them is loaded by `import torch`.
  find "$root/usr/lib/python3/dist-packages/torch/bin" -type f ! -name torch_shm_manager -delete
  find "$root/usr/lib" -xdev -type f -name '*.a' -delete
  find "$root/usr/lib/python3/dist-packages" -xdev -depth -type d \( -name tests -o -name rubi_tests \) -exec rm -rf {} +
  # Docker bind-mounts its own; the builder's must not ship.
  rm -f "$root"/etc/resolv.conf "$root"/etc/hostname
  : >"$root/etc/machine-id"
}

# What a job expects to find: nobody (the sandbox's user), /inputs, /outputs, a sticky /tmp.
prepare_rootfs() {
  local root=$1
  grep -q '^nobody:x:65534:65534:' "$root/etc/passwd" || echo 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin' >>"$root/etc/passwd"
  grep -q '^nogroup:x:65534:' "$root/etc/group" || echo 'nogroup:x:65534:' >>"$root/etc/group"
  mkdir -p "$root/inputs" "$root/outputs" "$root/opt/pond"
  chmod 1777 "$root/tmp"
}

# The image's contract, checked in a container locked down as a job's is (no network, read-only,
# nobody, 1 CPU, 1 GiB), so a trim that went too far fails the build rather than a creator's job.
check_image() {
  docker run --rm --network none --read-only --tmpfs /tmp:mode=1777 --user 65534:65534 --cpus 1 --memory 1g "$1" python3 -c '
import torch, sklearn, numpy
from sklearn.datasets import load_digits
x, y = load_digits(return_X_y=True)
assert x.shape == (1797, 64), x.shape
model = torch.nn.Sequential(torch.nn.Linear(64, 8), torch.nn.ReLU(), torch.nn.Linear(8, 10))
torch.nn.functional.cross_entropy(model(torch.tensor(x[:32], dtype=torch.float32)), torch.tensor(y[:32])).backward()
print("torch", torch.__version__, "scikit-learn", sklearn.__version__, "numpy", numpy.__version__)
'
}

# Progress a person can follow: debootstrap prints a line per package and step; this says how far each step is.
debootstrap_progress() {
  awk -v every=40 '
    /^I: Retrieving [^ ]+ [^ ]+$/ { n["downloading"]++; step = "downloading" }
    /^I: Extracting / { n["extracting"]++; step = "extracting" }
    /^I: Unpacking [^ ]+\.\.\.$/ { n["unpacking"]++; step = "unpacking" }
    /^I: Configuring [^ ]+\.\.\.$/ { n["configuring"]++; step = "configuring" }
    /^(E|W): / { print "ml image: debootstrap: " $0; fflush() }
    step != "" && (step != last || n[step] % every == 0) {
      print "ml image: debootstrap: " step " packages (" n[step] (step == "downloading" ? "" : " of " n["downloading"]) ")"; fflush(); last = step
    }
    { step = "" }'
}

# Device nodes and mount points' contents stay out: Docker gives each container its own.
pack_rootfs() {
  tar --numeric-owner --sort=name -C "$1" --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -cf "$2.partial" .
  mv "$2.partial" "$2"
}

# Only unmounted, same-filesystem trees are ever removed: a debootstrap that failed may leave /proc mounted inside.
remove_tree() {
  local dir=$1
  [ -d "$dir" ] || return 0
  awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | while read -r mount; do umount -l "$mount" || true; done
  rm -rf --one-file-system "$dir"
}

build_rootfs_tarball() {
  local tarball=$1
  [ "$(id -u)" = 0 ] || { say "debootstrap needs root: run as root (e.g. sudo bash scripts/build-ml-image.sh)" >&2; return 1; }
  command -v debootstrap >/dev/null 2>&1 || { say "debootstrap is not installed (apt-get install debootstrap; npm start and npm test's bootstrap install it)" >&2; return 1; }
  # Named, so a missing keyring stops the build instead of debootstrap going on unverified.
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  [ -f "$keyring" ] || { say "$keyring is missing (apt-get install debian-archive-keyring): Debian's packages cannot be verified without it" >&2; return 1; }
  # Global, not local: the EXIT trap that removes it may run after this function has returned.
  work=$(mktemp -d "$CACHE/ml-build.XXXXXX")
  trap 'remove_tree "$work"' EXIT
  local log="$CACHE/ml-debootstrap.log" started=$SECONDS
  say "debootstrap $SUITE with $PACKAGES from $MIRROR (first build only: a few minutes; log in $log)"
  if ! debootstrap --variant=minbase --keyring="$keyring" --include="$PACKAGES" "$SUITE" "$work/root" "$MIRROR" 2>&1 | tee "$log" | debootstrap_progress; then
    say "debootstrap failed; the end of its log:" >&2
    tail -n 20 "$log" >&2
    tail -n 20 "$work/root/debootstrap/debootstrap.log" 2>/dev/null >&2 || true
    return 1
  fi
  say "debootstrap done in $((SECONDS - started)) s ($(du -sh --one-file-system "$work/root" | cut -f1)); trimming what a job never needs"
  trim_rootfs "$work/root"
  prepare_rootfs "$work/root"
  say "trimmed to $(du -sh --one-file-system "$work/root" | cut -f1); packing it into $tarball"
  pack_rootfs "$work/root" "$tarball"
  remove_tree "$work"
  trap - EXIT
}

# The templates' code, as a layer on the base: a code change rebuilds this in seconds.
add_code() {
  local base=$1 image=$2 recipe=$3 container
  say "adding the templates' code ($CODE_DIR/digits → /opt/pond/digits)"
  # No command given: the container, and so the committed image, keeps the base's CMD.
  container=$(docker create "$base")
  # Owned by root, readable by all: the job's user reads it and cannot change it.
  if ! tar -C "$CODE_DIR" --owner=0 --group=0 --numeric-owner --mode=u+rwX,go=rX --exclude=__pycache__ --exclude='*.pyc' -c digits | docker cp - "$container:/opt/pond"; then
    docker rm "$container" >/dev/null
    return 1
  fi
  docker commit --change "LABEL dev.pond.ml-recipe=$recipe" "$container" "$image" >/dev/null
  docker rm "$container" >/dev/null
}

main() {
  # The rootfs's recipe is this script's own functions and settings that make it: change any, and it is built anew.
  local recipe code tag image base tarball
  recipe=$( { echo "$SUITE $PACKAGES"; declare -f trim_rootfs prepare_rootfs; } | sha256sum | cut -c1-16)
  code=$( { echo "$recipe"; printf '%s\n' "${IMAGE_CONFIG[@]}"; declare -f add_code; cd "$CODE_DIR" && find digits -type f ! -name '*.pyc' ! -path '*/__pycache__/*' | LC_ALL=C sort | xargs sha256sum; } | sha256sum | cut -c1-16)
  image="pond-ml/digits:$code"
  if [ "${1:-}" = --print-image ]; then echo "$image"; return 0; fi
  if docker image inspect "$image" >/dev/null 2>&1; then say "$image is built"; echo "$image"; return 0; fi

  mkdir -p "$CACHE"
  exec 9>"$CACHE/ml-image.lock"
  if ! flock -n 9; then
    say "another build of the ML image is running; waiting for it"
    flock 9
  fi
  if docker image inspect "$image" >/dev/null 2>&1; then say "$image is built"; echo "$image"; return 0; fi
  # What a build killed outright left behind (no other build runs while this one holds the lock).
  for stale in "$CACHE"/ml-build.*; do remove_tree "$stale"; done
  rm -f "$CACHE"/ml-rootfs-*.tar.partial

  base="pond-ml/torch:$recipe"
  if ! docker image inspect "$base" >/dev/null 2>&1; then
    tarball="$CACHE/ml-rootfs-$recipe.tar"
    if [ -f "$tarball" ]; then say "using the rootfs kept in $tarball"; else build_rootfs_tarball "$tarball"; fi
    say "importing the rootfs into Docker as $base"
    docker import "${IMAGE_CONFIG[@]}" "$tarball" "$base" >/dev/null
    if ! check_image "$base" | sed 's/^/ml image: checked: /'; then
      say "the imported rootfs cannot train a model (above); removing it and $tarball, so the next build starts afresh" >&2
      docker rmi "$base" >/dev/null
      rm -f "$tarball"
      return 1
    fi
    # Older recipes' tarballs and images are dead weight (GBs each).
    find "$CACHE" -maxdepth 1 -name 'ml-rootfs-*.tar' ! -name "ml-rootfs-$recipe.tar" -delete
  fi

  add_code "$base" "$image" "$recipe"
  # Older recipes' images are dead weight (a GB each); this recipe's other code versions are a few KB on the same base.
  comm -23 <(docker image ls --format '{{.Repository}}:{{.Tag}}' pond-ml/digits | sort) \
    <(docker image ls --filter "label=dev.pond.ml-recipe=$recipe" --format '{{.Repository}}:{{.Tag}}' pond-ml/digits | sort) |
    xargs -r docker rmi >/dev/null 2>&1 || true
  docker image ls --format '{{.Repository}}:{{.Tag}}' pond-ml/torch | grep -vx "$base" | xargs -r docker rmi >/dev/null 2>&1 || true
  say "built $image ($(docker image inspect --format '{{.Size}}' "$image" | awk '{ printf "%.2f GB", $1 / 1e9 }'))"
  echo "$image"
}

# Sourced (e.g. to try trim_rootfs on a copy), it only defines the functions.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then main "$@"; fi
