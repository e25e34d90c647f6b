#!/usr/bin/env bash
# Builds the images the tests run, locally (no registry is reachable here):
# pond-test/busybox:1, a rootfs of Debian's static busybox with its applets.
set -euo pipefail
image="pond-test/busybox:2"
if docker image inspect "$image" >/dev/null 2>&1; then exit 0; fi
# Debian's busybox-static installs a statically linked /bin/busybox: it runs in an empty rootfs.
busybox=/bin/busybox
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/inputs" "$root/outputs"
# As in every distribution image: Docker copies these attributes onto the /tmp tmpfs.
chmod 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
printf 'root:x:0:0::/root:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
tar -C "$root" -c . | docker import --change 'ENV PATH=/bin' --change 'CMD ["sh"]' - "$image" >/dev/null
echo "built $image"
