# shellcheck shell=bash
# Offline test images: a busybox root filesystem from Debian's busybox-static,
# imported into the local dockerd and saved as a `docker save` tarball (what
# Glance holds with container_format=docker). No outside registry involved.

BUSYBOX_TAR=$AIO_STATE/images/busybox.tar
BUSYBOX_REF=berth/busybox:latest

images_install() { apt_install busybox-static; }

images_busybox() {
  [ -s $BUSYBOX_TAR ] && docker image inspect $BUSYBOX_REF >/dev/null 2>&1 && return 0
  mkdir -p "$AIO_STATE/images"
  local root; root=$(mktemp -d)
  mkdir -p "$root"/{bin,etc,tmp,proc,sys,dev,root,var/www}
  cp /bin/busybox "$root/bin/busybox" || { rm -rf "$root"; return 1; }
  local a; for a in sh ls cat echo env sleep ps ip ping nc wget httpd hostname id sed grep top true false \
    uname mkdir rm touch printf date head tail wc ifconfig route netstat nslookup; do
    ln -sf busybox "$root/bin/$a"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
  echo 'root:x:0:' >"$root/etc/group"
  tar -C "$root" -c . | docker import --change 'ENV PATH=/bin' --change 'CMD ["/bin/sleep","infinity"]' \
    - $BUSYBOX_REF >/dev/null || { rm -rf "$root"; return 1; }
  rm -rf "$root"
  docker save -o $BUSYBOX_TAR $BUSYBOX_REF
  say "built $BUSYBOX_REF -> $BUSYBOX_TAR ($(stat -c %s $BUSYBOX_TAR) bytes)"
}
