# shellcheck shell=bash
# The main job of the stack command: show the cloud answering through the
# clients users use. Each step prints what it proves and how long it took.

demo_step() { # demo_step TITLE CMD...
  local title=$1; shift; local t0; t0=$(now)
  say "demo: $title"
  "$@" || { say "demo: $title FAILED"; return 1; }
  say "demo: $title ok ($(elapsed "$t0") s)"
}

demo_token() { openstack token issue -f value -c expires; }

demo_glance() {
  images_install && images_busybox || return 1
  # a round trip with a throw-away image: the bytes come back unchanged
  openstack image delete berth-roundtrip >/dev/null 2>&1
  openstack image create --container-format docker --disk-format raw --file "$BUSYBOX_TAR" berth-roundtrip \
    -f value -c id || return 1
  local down; down=$(mktemp)
  openstack image save --file "$down" berth-roundtrip || { rm -f "$down"; return 1; }
  local a b; a=$(sha256sum <"$BUSYBOX_TAR"); b=$(sha256sum <"$down"); rm -f "$down"
  openstack image delete berth-roundtrip
  [ "$a" = "$b" ] || { say "downloaded image differs from the upload"; return 1; }
  echo "image round trip: sha256 ${a%% *}"
  # the image the Nova demo boots: its Glance name is only a label, Berth loads it by id
  if [ "$(openstack image show busybox -f value -c checksum 2>/dev/null)" != "$(md5sum <"$BUSYBOX_TAR" | cut -d' ' -f1)" ]; then
    openstack image delete busybox >/dev/null 2>&1
    openstack image create --container-format docker --disk-format raw --public --file "$BUSYBOX_TAR" busybox \
      -f value -c id || return 1
  fi
}

demo_heat() {
  openstack stack show berth-demo >/dev/null 2>&1 && openstack stack delete --yes --wait berth-demo
  openstack stack create --wait -t "$AIO_DIR/templates/demo-stack.yaml" berth-demo -f value -c stack_status ||
    return 1
  openstack stack output show berth-demo greeting -f value -c output_value || return 1
  openstack stack delete --yes --wait berth-demo
}

# the main job: a container booted by Nova, left running for you to look at
demo_nova() {
  openstack flavor show c1.tiny >/dev/null 2>&1 ||
    openstack flavor create --ram 128 --disk 1 --vcpus 1 c1.tiny >/dev/null || return 1
  openstack server show berth-demo >/dev/null 2>&1 && openstack server delete --wait berth-demo
  openstack server create --image busybox --flavor c1.tiny --network $NEUTRON_DEMO_NET \
    --user-data "$AIO_DIR/templates/demo-container-spec.yaml" --wait berth-demo \
    -c id -c status -c OS-EXT-SRV-ATTR:host -c flavor -c addresses || return 1
  local id; id=$(openstack server show berth-demo -f value -c id)
  docker ps --filter "label=org.openstack.nova.instance-uuid=$id" --format 'dockerd runs {{.Names}}: {{.Status}}'
  echo "inside the container:"; docker exec "nova-$id" ip -o -4 addr show eth0
  openstack console log show berth-demo
}

cmd_demo() {
  demo_step "Keystone issues a token" demo_token &&
    demo_step "Glance stores and returns a container image" demo_glance &&
    demo_step "Heat creates and deletes a stack" demo_heat &&
    demo_step "Nova boots a container (openstack server create)" demo_nova
}
