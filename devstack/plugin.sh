# shellcheck shell=bash
# plugin.sh - devstack plugin for Berth (stack.sh calls it as
# `source plugin.sh <mode> [phase]`; settings holds the defaults).
#
#   pre-install  Node.js check, docker.io (live-restore), busybox-static
#   install      npm ci + tsc -b of the workspace; the Nova shim into nova/virt/berth
#   post-config  /etc/berth/*.conf, Nova's compute_driver, Keystone users and
#                endpoints, the Heat plugin and its type schema; starts the
#                agent, which nova-compute (started before `extra`) calls at init
#   extra        starts glance-bridge, heat-resources and cluster-service
#   unstack      stops all four; clean removes configs, state and installed files
#
# Services run under devstack's systemd units (devstack@berth-*.service), as
# $STACK_USER except the agent, which drives dockerd and network namespaces
# as root. The all-in-one (devstack/aio) brings up the same services without
# devstack; both take their configuration options from each service's --help.

BERTH_PLUGIN_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BERTH_HEAT_PLUGIN_DIR=${BERTH_HEAT_PLUGIN_DIR:-/usr/local/lib/heat}
# where the Heat plugin reads the type schema (its [berth_heat_resources] types_file default)
BERTH_HEAT_TYPES_FILE=${BERTH_HEAT_TYPES_FILE:-/etc/heat/berth/resource-types.json}

function berth_check_prereqs {
    local major
    major=$("$BERTH_NODE" -p 'process.versions.node.split(".")[0]' 2>/dev/null) ||
        die $LINENO "Berth needs Node.js 20 or later: none found (set BERTH_NODE)"
    [[ $major -ge 20 ]] || die $LINENO "Berth needs Node.js 20 or later: $BERTH_NODE is $major (set BERTH_NODE)"
    if is_service_enabled berth-nova-agent && [[ $VIRT_DRIVER != berth ]]; then
        die $LINENO "berth-nova-agent is enabled: set VIRT_DRIVER=berth in local.conf"
    fi
}

function install_berth_system {
    install_package docker.io busybox-static
    # running containers survive a dockerd restart, as instances survive a
    # hypervisor service restart
    if [[ ! -s /etc/docker/daemon.json ]]; then
        echo '{"live-restore": true}' | sudo tee /etc/docker/daemon.json >/dev/null
    fi
    sudo systemctl enable docker
    sudo systemctl restart docker
}

function install_berth {
    # better-sqlite3 builds from source: no prebuilt binary downloads
    (cd "$BERTH_DIR" && npm_config_build_from_source=true npm ci --no-audit --no-fund && npx tsc -b) ||
        die $LINENO "building Berth failed"
    if is_service_enabled berth-nova-agent; then
        # Nova loads drivers only from nova.virt; devstack installs Nova from $NOVA_DIR in develop mode
        mkdir -p "$NOVA_DIR/nova/virt/berth"
        install -m 0644 "$BERTH_DIR"/nova-driver/python/berth/*.py "$NOVA_DIR/nova/virt/berth/"
        "$BERTH_DIR/devstack/tools/berth-sandbox-image" || die $LINENO "building the sandbox image failed"
    fi
}

# berth_compute_transport_url : the transport nova-compute uses (its cell's
# vhost under superconductor), which the agent and the shim must share
function berth_compute_transport_url {
    if [[ $CELLSV2_SETUP == singleconductor ]]; then
        get_transport_url
    else
        get_transport_url "nova_cell${NOVA_CPU_CELL:-1}"
    fi
}

# berth_conf_auth FILE SECTION USER : the service's Keystone identity
function berth_conf_auth {
    configure_keystone_authtoken_middleware "$1" "$3" "$2"
    # the URL a 401 sends clients to (Zed's devstack does not write it)
    iniset "$1" "$2" www_authenticate_uri "$KEYSTONE_SERVICE_URI"
    iniset "$1" "$2" region_name "$REGION_NAME"
}

# berth_register USER TYPE NAME URL : a service user (admin in the service
# project, as Nova's and Neutron's are) and its catalog entry
function berth_register {
    create_service_user "$1" admin
    get_or_create_service "$3" "$2" "Berth $3"
    get_or_create_endpoint "$2" "$REGION_NAME" "$4" "$4" "$4"
}

function configure_berth_nova_agent {
    local conf=$BERTH_CONF_DIR/nova-agent.conf
    # nova-compute's host (Nova defaults to the hostname) and transport
    iniset "$conf" DEFAULT host "$(hostname)"
    iniset "$conf" DEFAULT transport_url "$(berth_compute_transport_url)"
    iniset "$conf" DEFAULT control_exchange nova
    iniset "$conf" agent sandbox_image berth/sandbox:latest
    iniset "$conf" database connection "sqlite:///$BERTH_STATE_DIR/nova-agent/agent.db"
    berth_conf_auth "$conf" service_auth nova
    sudo mkdir -p "$BERTH_STATE_DIR/nova-agent"

    # nova.conf is copied to nova-cpu.conf when nova-compute starts
    iniset "$NOVA_CONF" DEFAULT compute_driver berth.BerthDriver
    # containers deleted in Nova while the agent was away are removed at the next poll
    iniset "$NOVA_CONF" DEFAULT running_deleted_instance_action reap
    iniset "$NOVA_CONF" DEFAULT running_deleted_instance_poll_interval 60
    # wait for Neutron to report ports plugged before starting the workload
    iniset "$NOVA_CONF" DEFAULT vif_plugging_is_fatal True
    iniset "$NOVA_CONF" DEFAULT vif_plugging_timeout 120
    iniset "$NOVA_CONF" berth agent_topic berth-agent
    iniset "$NOVA_CONF" berth events_topic berth-compute-events
}

function configure_berth_glance_bridge {
    local conf=$BERTH_CONF_DIR/glance-bridge.conf state=$BERTH_STATE_DIR/glance-bridge
    local url=$SERVICE_PROTOCOL://$SERVICE_HOST:$BERTH_GLANCE_BRIDGE_PORT
    mkdir -p "$state"
    iniset "$conf" DEFAULT state_dir "$state"
    iniset "$conf" api bind_host "$SERVICE_LISTEN_ADDRESS"
    iniset "$conf" api bind_port "$BERTH_GLANCE_BRIDGE_PORT"
    iniset "$conf" api public_url "$url"
    iniset "$conf" database connection "sqlite:///$state/registry.db"
    iniset "$conf" storage driver glance
    iniset "$conf" glance namespace berth-glance-bridge
    iniset "$conf" nova register_on_push true
    berth_conf_auth "$conf" keystone_authtoken berth-glance-bridge
    berth_register berth-glance-bridge container-registry berth-glance-bridge "$url"
}

function configure_berth_heat_resources {
    local conf=$BERTH_CONF_DIR/heat-resources.conf state=$BERTH_STATE_DIR/heat-resources
    local url=$SERVICE_PROTOCOL://$SERVICE_HOST:$BERTH_HEAT_RESOURCES_PORT
    mkdir -p "$state"
    iniset "$conf" DEFAULT state_dir "$state"
    iniset "$conf" DEFAULT service_type container-orchestration
    iniset "$conf" api bind_host "$SERVICE_LISTEN_ADDRESS"
    iniset "$conf" api bind_port "$BERTH_HEAT_RESOURCES_PORT"
    iniset "$conf" database connection "sqlite:///$state/heat-resources.db"
    berth_conf_auth "$conf" keystone_authtoken berth-heat-resources
    berth_register berth-heat-resources container-orchestration berth-heat-resources "$url"
    # heat-engine reads both from disk when it starts (after this phase): no
    # network call, no restart; /usr/local/lib/heat is one of Heat's default plugin_dirs
    sudo mkdir -p "$(dirname "$BERTH_HEAT_TYPES_FILE")" "$BERTH_HEAT_PLUGIN_DIR"
    "$BERTH_NODE" "$BERTH_DIR/heat-resources/dist/cli/main.js" --config-file "$conf" \
        write-types "$BERTH_STATE_DIR/resource-types.json" || die $LINENO "writing the Heat type schema failed"
    sudo install -m 0644 "$BERTH_STATE_DIR/resource-types.json" "$BERTH_HEAT_TYPES_FILE"
    sudo install -m 0644 "$BERTH_DIR/heat-resources/plugin/berth_heat_resources.py" "$BERTH_HEAT_PLUGIN_DIR/"
}

function configure_berth_cluster_service {
    local conf=$BERTH_CONF_DIR/cluster-service.conf state=$BERTH_STATE_DIR/cluster-service key
    local url=$SERVICE_PROTOCOL://$SERVICE_HOST:$BERTH_CLUSTER_SERVICE_PORT
    mkdir -p "$state" && chmod 700 "$state"
    # seals the clusters' private keys and node secrets: made once, kept across re-stacks
    [[ -s $state/encryption.key ]] || (umask 077 && openssl rand -base64 32 >"$state/encryption.key")
    key=$(cat "$state/encryption.key")
    iniset "$conf" api host "$SERVICE_LISTEN_ADDRESS"
    iniset "$conf" api port "$BERTH_CLUSTER_SERVICE_PORT"
    iniset "$conf" api public_url "$url"
    iniset "$conf" node_api host "$BERTH_CLUSTER_NODE_API_HOST"
    iniset "$conf" node_api port "$BERTH_CLUSTER_NODE_API_PORT"
    iniset "$conf" database connection "sqlite:///$state/cluster.db"
    iniset "$conf" certificates encryption_key "$key"
    chmod 600 "$conf"
    berth_conf_auth "$conf" keystone_authtoken berth-cluster
    # python-magnumclient expects the container-infra endpoint to end in /v1
    berth_register berth-cluster container-infra berth-cluster-service "$url/v1"
}

function configure_berth {
    sudo install -d -o "$STACK_USER" -m 0750 "$BERTH_CONF_DIR"
    sudo install -d -o "$STACK_USER" -m 0755 "$BERTH_STATE_DIR"
    is_service_enabled berth-nova-agent && configure_berth_nova_agent
    is_service_enabled berth-glance-bridge && configure_berth_glance_bridge
    is_service_enabled berth-heat-resources && configure_berth_heat_resources
    is_service_enabled berth-cluster-service && configure_berth_cluster_service
    return 0
}

# berth_run SERVICE USER SCRIPT [NODE_OPTION...] : a built entry point under devstack's systemd
function berth_run {
    local name=$1 user=$2 script=$3
    shift 3
    run_process "$name" "$BERTH_NODE $* $BERTH_DIR/$script --config-file $BERTH_CONF_DIR/${name#berth-}.conf" "" "$user"
}

function start_berth_agent {
    is_service_enabled berth-nova-agent || return 0
    local since i
    since=$(date '+%Y-%m-%d %H:%M:%S')
    berth_run berth-nova-agent root nova-driver/dist/main.js
    # nova-compute's init_host calls the agent: wait until it serves RPC
    for i in $(seq 60); do
        grep -q '"serving RPC"' < <(sudo journalctl -u devstack@berth-nova-agent --since "$since" -o cat 2>/dev/null) &&
            return 0
        sleep 1
    done
    die $LINENO "berth-nova-agent did not start serving RPC (journalctl -u devstack@berth-nova-agent)"
}

# berth_start_api SERVICE PORT SCRIPT [NODE_OPTION...] : an API service, then its /healthcheck
function berth_start_api {
    local name=$1 port=$2
    shift 2
    is_service_enabled "$name" || return 0
    berth_run "$name" "$STACK_USER" "$@"
    wait_for_service 60 "$SERVICE_PROTOCOL://$SERVICE_HOST:$port/healthcheck" ||
        die $LINENO "$name did not answer on port $port"
}

function start_berth {
    # blob bytes pass through in small buffers: a small young generation keeps RSS flat
    berth_start_api berth-glance-bridge "$BERTH_GLANCE_BRIDGE_PORT" glance-bridge/dist/cli/main.js --max-semi-space-size=1
    berth_start_api berth-heat-resources "$BERTH_HEAT_RESOURCES_PORT" heat-resources/dist/cli/main.js
    berth_start_api berth-cluster-service "$BERTH_CLUSTER_SERVICE_PORT" cluster-service/dist/main.js
}

function stop_berth {
    local name
    for name in berth-cluster-service berth-heat-resources berth-glance-bridge berth-nova-agent; do
        stop_process "$name"
    done
}

function cleanup_berth {
    sudo rm -rf "$BERTH_CONF_DIR" "$BERTH_STATE_DIR" "$NOVA_DIR/nova/virt/berth" \
        "$BERTH_HEAT_PLUGIN_DIR/berth_heat_resources.py" "$BERTH_HEAT_TYPES_FILE"
}

if [[ $1 == stack && $2 == pre-install ]]; then
    echo_summary "Berth: checking Node.js, installing docker.io"
    berth_check_prereqs
    install_berth_system
elif [[ $1 == stack && $2 == install ]]; then
    echo_summary "Berth: building the TypeScript workspace, installing the Nova shim"
    install_berth
elif [[ $1 == stack && $2 == post-config ]]; then
    echo_summary "Berth: configuring, registering in Keystone, starting the container-host agent"
    configure_berth
    start_berth_agent
elif [[ $1 == stack && $2 == extra ]]; then
    echo_summary "Berth: starting glance-bridge, heat-resources, cluster-service"
    start_berth
fi
if [[ $1 == unstack ]]; then
    stop_berth
fi
if [[ $1 == clean ]]; then
    cleanup_berth
fi
