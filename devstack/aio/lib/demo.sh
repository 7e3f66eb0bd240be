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
  openstack image show busybox -f value -c id >/dev/null 2>&1 ||
    openstack image create --container-format docker --disk-format raw --public \
      --file "$BUSYBOX_TAR" busybox -f value -c id || return 1
  local down; down=$(mktemp)
  openstack image save --file "$down" busybox || { rm -f "$down"; return 1; }
  local a b; a=$(sha256sum <"$BUSYBOX_TAR"); b=$(sha256sum <"$down"); rm -f "$down"
  [ "$a" = "$b" ] || { say "downloaded image differs from the upload"; return 1; }
  echo "busybox image round trip: sha256 ${a%% *}"
}

demo_heat() {
  openstack stack show berth-demo >/dev/null 2>&1 && openstack stack delete --yes --wait berth-demo
  openstack stack create --wait -t "$AIO_DIR/templates/demo-stack.yaml" berth-demo -f value -c stack_status ||
    return 1
  openstack stack output show berth-demo greeting -f value -c output_value || return 1
  openstack stack delete --yes --wait berth-demo
}

cmd_demo() {
  demo_step "Keystone issues a token" demo_token &&
    demo_step "Glance stores and returns a container image" demo_glance &&
    demo_step "Heat creates and deletes a stack" demo_heat
}
