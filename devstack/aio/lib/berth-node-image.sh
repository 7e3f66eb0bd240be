# shellcheck shell=bash
# The cluster node image: `berth-swarm-node` in Glance, the image the
# cluster-service's Swarm driver boots as Nova servers. A Debian bookworm root
# filesystem made by debootstrap from Debian's mirror (docker.io, containerd,
# runc, tini, iproute2, curl, jq, openssl, socat), plus the entrypoint in
# devstack/aio/node-image/ (dockerd for this node, then the node bootstrap).
# No Docker Hub: `docker import` of the tar, `docker save`, Glance upload.
#
# Caches under $AIO_STATE/node-image, so a re-run does nothing and a change
# redoes only what it touches:
#   debs/                        downloaded packages (seeded from the host's apt cache)
#   rootfs-<base key>.tar        the Debian root filesystem (key: suite, mirror, packages, recipe)
#   berth-swarm-node-<key>.tar   `docker save` of the image (key: rootfs + node-image/ files)
# The Glance image carries berth_node_image_key=<key>: a matching one is kept,
# another is replaced. Set NODE_IMAGE_REBUILD=yes to debootstrap again (newer
# Debian updates). The contract of the image: devstack/README.md, "Cluster node image".

BERTH_COMPONENTS+=" node_image"
NODE_IMAGE_NAME=${NODE_IMAGE_NAME:-berth-swarm-node}
NODE_IMAGE_REF=berth/swarm-node
NODE_IMAGE_SUITE=${NODE_IMAGE_SUITE:-bookworm}
NODE_IMAGE_MIRROR=${NODE_IMAGE_MIRROR:-http://deb.debian.org/debian}
NODE_IMAGE_SECURITY_MIRROR=${NODE_IMAGE_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
# what the entrypoint and a node bootstrap use (tini, iptables, runc, containerd come with docker.io)
NODE_IMAGE_PACKAGES="docker.io iproute2 ca-certificates curl jq openssl socat"
# binaries no node runs: libnetwork's test tools, containerd's CLI and its v1 shims
NODE_IMAGE_DROP="usr/bin/dnet usr/sbin/ovrouter usr/bin/ctr usr/bin/containerd-shim usr/bin/containerd-shim-runc-v1"
# bump when the rootfs recipe below changes (it is part of the cache key)
NODE_IMAGE_RECIPE=2
NODE_IMAGE_DIR=$AIO_STATE/node-image
NODE_IMAGE_SRC=$AIO_DIR/node-image
NODE_FLAVOR=${NODE_FLAVOR:-berth.node}
NODE_FLAVOR_RAM=${NODE_FLAVOR_RAM:-1024}
NODE_FLAVOR_VCPUS=${NODE_FLAVOR_VCPUS:-1}
NODE_FLAVOR_DISK=${NODE_FLAVOR_DISK:-5}

berth_node_image_install() { apt_install debootstrap; }

_node_image_base_key() {
  echo "$NODE_IMAGE_RECIPE $NODE_IMAGE_SUITE $NODE_IMAGE_MIRROR $NODE_IMAGE_SECURITY_MIRROR $NODE_IMAGE_PACKAGES $NODE_IMAGE_DROP" |
    sha256sum | cut -c1-12
}

# the Debian root filesystem as a tar; prints its path
berth_node_image_rootfs() {
  local tar; tar=$NODE_IMAGE_DIR/rootfs-$(_node_image_base_key).tar
  if [ -s "$tar" ] && [ "${NODE_IMAGE_REBUILD:-no}" != yes ]; then echo "$tar"; return 0; fi
  local t0 root log=$AIO_LOG/node-image.log; t0=$(now)
  mkdir -p "$NODE_IMAGE_DIR/debs"
  # the host's apt cache already holds the biggest ones (the host runs docker.io): hard links,
  # no second download (debootstrap checks each file against the archive's checksums)
  local f; for f in /var/cache/apt/archives/{docker.io,containerd,runc,tini}_*.deb; do
    [ -e "$f" ] && [ ! -e "$NODE_IMAGE_DIR/debs/${f##*/}" ] && { ln "$f" "$NODE_IMAGE_DIR/debs/" 2>/dev/null || cp "$f" "$NODE_IMAGE_DIR/debs/"; }
  done
  root=$(mktemp -d "$NODE_IMAGE_DIR/build.XXXXXX")
  say "node image: debootstrap $NODE_IMAGE_SUITE ($NODE_IMAGE_PACKAGES) into $root (log $log)" >&2
  # two stages, so that dpkg runs without fsync (a throw-away tree: 29 s instead of 65 s here)
  if ! { debootstrap --foreign --variant=minbase --include="${NODE_IMAGE_PACKAGES// /,}" \
      --cache-dir="$NODE_IMAGE_DIR/debs" "$NODE_IMAGE_SUITE" "$root" "$NODE_IMAGE_MIRROR" &&
      echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/berth-build-unsafe-io" &&
      chroot "$root" /debootstrap/debootstrap --second-stage; } >>"$log" 2>&1; then
    say "debootstrap failed:" >&2; tail -20 "$log" >&2; _node_image_rm_root "$root"; return 1
  fi
  say "node image: debootstrap done ($(elapsed "$t0") s); applying updates and security fixes" >&2
  _node_image_update "$root" >>"$log" 2>&1 || {
    say "apt-get upgrade in the node image failed:" >&2; tail -20 "$log" >&2; _node_image_rm_root "$root"; return 1
  }
  _node_image_trim "$root"
  tar --numeric-owner -C "$root" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar" || { _node_image_rm_root "$root"; return 1; }
  _node_image_rm_root "$root"
  # older root filesystems are never used again
  find "$NODE_IMAGE_DIR" -maxdepth 1 -name 'rootfs-*.tar' ! -path "$tar" -delete
  say "node image: root filesystem $tar ($(du -m "$tar" | cut -f1) MiB) in $(elapsed "$t0") s" >&2
  echo "$tar"
}

# a build tree goes with whatever is still mounted in it unmounted first
_node_image_rm_root() {
  findmnt -R -n -l -o TARGET "$1" 2>/dev/null | sort -r | xargs -r umount -l 2>/dev/null
  rm -rf --one-file-system "$1"
}

# bookworm-updates and bookworm-security on top of the release debootstrap installed
_node_image_update() {
  local root=$1 rc=0
  # debootstrap just installed the release as it is now: only the two update suites are news
  cat >"$root/etc/apt/sources.list" <<EOT
deb $NODE_IMAGE_MIRROR $NODE_IMAGE_SUITE-updates main
deb $NODE_IMAGE_SECURITY_MIRROR $NODE_IMAGE_SUITE-security main
EOT
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d" && chmod +x "$root/usr/sbin/policy-rc.d"
  mount -t proc proc "$root/proc" || return 1
  mkdir -p "$root/var/cache/apt/archives"
  mount --bind "$NODE_IMAGE_DIR/debs" "$root/var/cache/apt/archives" || { umount "$root/proc"; return 1; }
  chroot "$root" apt-get update -q && chroot "$root" apt-get -y -q --no-install-recommends upgrade || rc=1
  umount "$root/var/cache/apt/archives" "$root/proc"
  rm -f "$root/usr/sbin/policy-rc.d"
  cat >"$root/etc/apt/sources.list" <<EOT
deb $NODE_IMAGE_MIRROR $NODE_IMAGE_SUITE main
deb $NODE_IMAGE_MIRROR $NODE_IMAGE_SUITE-updates main
deb $NODE_IMAGE_SECURITY_MIRROR $NODE_IMAGE_SUITE-security main
EOT
  return $rc
}

# what a node never reads: documentation, translations, package lists and caches
_node_image_trim() {
  local root=$1 p
  rm -rf "$root"/usr/share/{doc,man,info,lintian}/* "$root"/usr/share/locale/* \
    "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/archives/partial/* \
    "$root"/var/lib/apt/lists/* "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old "$root"/tmp/* \
    "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/etc/hostname "$root"/etc/dpkg/dpkg.cfg.d/berth-build-unsafe-io \
    "$root"/debootstrap
  for p in $NODE_IMAGE_DROP; do rm -f "${root:?}/$p"; done
  : >"$root/etc/machine-id"
  # and packages installed later in a node leave them out too
  cat >"$root/etc/dpkg/dpkg.cfg.d/berth-node-nodoc" <<EOT
path-exclude /usr/share/doc/*
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOT
}

# the docker image berth/swarm-node:<key> and its `docker save` tar; prints the key
berth_node_image_docker() {
  local rootfs key save stage t0; t0=$(now)
  rootfs=$(berth_node_image_rootfs) || return 1
  # (this function's own text is part of the key: it holds the image's entrypoint and labels)
  key=$( { echo "${rootfs##*/}"; cat "$NODE_IMAGE_SRC"/berth-node-*; declare -f berth_node_image_docker; } | sha256sum | cut -c1-12)
  save=$NODE_IMAGE_DIR/berth-swarm-node-$key.tar
  if [ -s "$save" ] && docker image inspect "$NODE_IMAGE_REF:$key" >/dev/null 2>&1; then echo "$key"; return 0; fi
  if ! docker image inspect "$NODE_IMAGE_REF:$key" >/dev/null 2>&1; then
    stage=$(mktemp -d "$NODE_IMAGE_DIR/stage.XXXXXX")
    mkdir -p "$stage/usr/local/sbin" "$stage/etc/berth-node"
    install -m 0755 "$NODE_IMAGE_SRC/berth-node-init" "$NODE_IMAGE_SRC/berth-node-swarm" "$stage/usr/local/sbin/"
    local dver; dver=$(tar -xOf "$rootfs" ./var/lib/dpkg/status | awk '/^Package: docker.io$/{p=1} p&&/^Version:/{print $2; exit}')
    printf 'BERTH_NODE_IMAGE_KEY=%s\nBERTH_NODE_CONTRACT=1\nDOCKER_PACKAGE_VERSION=%s\nBUILT=%s\n' \
      "$key" "$dver" "$(date -u +%FT%TZ)" >"$stage/etc/berth-node/release"
    # the Debian tar plus our files, imported as one layer
    cp "$rootfs" "$stage.tar" &&
      tar --numeric-owner --owner=0 --group=0 -C "$stage" -rf "$stage.tar" \
        --no-recursion ./etc/berth-node ./etc/berth-node/release ./usr/local/sbin/berth-node-init ./usr/local/sbin/berth-node-swarm &&
      docker import \
        --change 'ENTRYPOINT ["/usr/bin/tini", "-s", "-g", "--", "/usr/local/sbin/berth-node-init"]' \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change "LABEL org.openstack.berth.node-image=$key org.openstack.berth.node-contract=1 org.openstack.berth.docker-version=${dver%%+*} org.opencontainers.image.title=$NODE_IMAGE_NAME" \
        --message "berth cluster node image $key" "$stage.tar" "$NODE_IMAGE_REF:$key" >/dev/null
    local rc=$?
    rm -rf "$stage" "$stage.tar"
    [ $rc -eq 0 ] || { say "docker import of the node image failed" >&2; return 1; }
  fi
  docker tag "$NODE_IMAGE_REF:$key" "$NODE_IMAGE_REF:latest" &&
    docker save -o "$save.tmp" "$NODE_IMAGE_REF:$key" && mv "$save.tmp" "$save" || return 1
  find "$NODE_IMAGE_DIR" -maxdepth 1 -name 'berth-swarm-node-*.tar' ! -path "$save" -delete
  # and older builds in the local dockerd
  local t; for t in $(docker images "$NODE_IMAGE_REF" --format '{{.Tag}}'); do
    [ "$t" = "$key" ] || [ "$t" = latest ] || docker rmi "$NODE_IMAGE_REF:$t" >/dev/null 2>&1
  done
  say "node image: $NODE_IMAGE_REF:$key saved as $save ($(du -m "$save" | cut -f1) MiB) in $(elapsed "$t0") s" >&2
  echo "$key"
}

# the public Glance image (admin sets the nested_docker grant: Glance lets only admins)
berth_node_image_glance() {
  local key=$1 save=$NODE_IMAGE_DIR/berth-swarm-node-$1.tar t0 id old dver; t0=$(now)
  id=$(openstack image list --name "$NODE_IMAGE_NAME" --property "berth_node_image_key=$key" --status active -f value -c ID) ||
    return 1
  if [ -z "$id" ]; then
    dver=$(docker image inspect -f '{{index .Config.Labels "org.openstack.berth.docker-version"}}' "$NODE_IMAGE_REF:$key") ||
      return 1
    id=$(openstack image create --public --container-format docker --disk-format raw --file "$save" \
      --property berth_allow_nested_docker=true --property os_distro=debian --property os_version=12 \
      --property os_type=linux --property "docker_version=$dver" --property "berth_node_image_key=$key" \
      "$NODE_IMAGE_NAME" -f value -c id) || return 1
    say "node image: Glance image $NODE_IMAGE_NAME $id ($(elapsed "$t0") s)" >&2
  fi
  # one image answers to the name: older builds go
  for old in $(openstack image list --name "$NODE_IMAGE_NAME" -f value -c ID); do
    [ "$old" = "$id" ] || openstack image delete "$old" || return 1
  done
}

berth_node_image_flavor() {
  openstack flavor show "$NODE_FLAVOR" >/dev/null 2>&1 && return 0
  openstack flavor create --public --ram "$NODE_FLAVOR_RAM" --vcpus "$NODE_FLAVOR_VCPUS" --disk "$NODE_FLAVOR_DISK" \
    --description "Berth cluster nodes (image $NODE_IMAGE_NAME)" "$NODE_FLAVOR" >/dev/null
}

berth_node_image_up() {
  local key t0; t0=$(now)
  mkdir -p "$NODE_IMAGE_DIR"
  # one build at a time (several shells may run `berth-aio up`)
  exec 9>"$NODE_IMAGE_DIR/.lock" && flock 9 || return 1
  key=$(berth_node_image_docker) && berth_node_image_glance "$key" && berth_node_image_flavor
  local rc=$?
  flock -u 9; exec 9>&-
  [ $rc -eq 0 ] && say "node image: $NODE_IMAGE_NAME ($key) and flavor $NODE_FLAVOR ready ($(elapsed "$t0") s)"
  return $rc
}

# nothing runs: the image and the flavor stay (servers may be using them)
berth_node_image_down() { :; }
