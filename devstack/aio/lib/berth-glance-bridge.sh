# shellcheck shell=bash
# Berth glance-bridge: the OCI registry (docker, skopeo, podman) whose blobs
# and manifests are Glance images of the service project. Runs as the
# Keystone user berth-glance-bridge (admin in project service: it creates
# boot images in users' projects), listens on 127.0.0.1:9494 and is in the
# catalog as service type `container-registry`.
#
# dockerd treats 127.0.0.0/8 registries as insecure (plain HTTP) by default,
# so `docker login 127.0.0.1:9494` works here without daemon changes.

BERTH_COMPONENTS+=" glance_bridge"
BERTH_SERVICES+=" berth-glance-bridge"
GLANCE_BRIDGE_PORT=${GLANCE_BRIDGE_PORT:-9494}
GLANCE_BRIDGE_URL=http://127.0.0.1:$GLANCE_BRIDGE_PORT
GLANCE_BRIDGE_USER=berth-glance-bridge
GLANCE_BRIDGE_SERVICE_TYPE=container-registry

# skopeo and podman: the clients the tests drive (docker comes with dockerd);
# docker-registry: distribution 2.8.2, the baseline of test/bench/registry
berth_glance_bridge_install() { apt_install skopeo podman docker-registry; }

berth_glance_bridge_up() {
  berth_glance_bridge_install || return 1
  local state=$BERTH_STATE/glance-bridge
  mkdir -p "$state"
  put_conf $BERTH_ETC/glance-bridge.conf <<EOT
# berth-glance-bridge --help lists every option
[DEFAULT]
state_dir = $state
[api]
bind_host = 127.0.0.1
bind_port = $GLANCE_BRIDGE_PORT
public_url = $GLANCE_BRIDGE_URL
$(berth_auth_section keystone_authtoken $GLANCE_BRIDGE_USER)
[database]
connection = sqlite:///$state/registry.db
[storage]
driver = glance
[glance]
interface = internal
namespace = berth-glance-bridge
[nova]
register_on_push = true
EOT
  ks_register "user:$GLANCE_BRIDGE_USER" \
    "endpoint:berth-glance-bridge:$GLANCE_BRIDGE_SERVICE_TYPE:$GLANCE_BRIDGE_URL" >/dev/null || return 1
  # a small young generation: blob bytes pass through in 64 KiB buffers, and V8's default 16 MiB
  # semi-spaces let tens of MiB of them pile up between scavenges (RSS) for more GC work (CPU)
  berth_node berth-glance-bridge --max-semi-space-size=1 glance-bridge/dist/cli/main.js \
    --config-file $BERTH_ETC/glance-bridge.conf
  wait_http $GLANCE_BRIDGE_URL/healthcheck 60
}

berth_glance_bridge_down() { stop_bg berth-glance-bridge; }

# berth_glance_bridge_gc [--dry-run] : the garbage collector, as an operator (or cron) runs it
berth_glance_bridge_gc() {
  node "$BERTH_ROOT/glance-bridge/dist/cli/main.js" --config-file $BERTH_ETC/glance-bridge.conf gc "$@"
}
