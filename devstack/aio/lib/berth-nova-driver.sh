# shellcheck shell=bash
# Berth nova-driver: the container-host agent beside nova-compute, and the
# Nova virt driver shim nova-compute loads (compute_driver = berth.BerthDriver).
# The agent must answer before nova-compute starts, so it comes up from a
# hook inside nova's bring-up rather than with the other Berth services.

BERTH_COMPONENTS+=" nova_driver"
BERTH_SERVICES+=" berth-nova-agent"
NOVA_COMPUTE_DRIVER=berth.BerthDriver
NOVA_PRE_COMPUTE_HOOKS+=" berth_nova_driver_agent_up"
# a new shim needs a nova-compute restart
NOVA_COMPUTE_STAMP_FILES+=" $BERTH_ROOT/nova-driver/python/berth/driver.py"
NOVA_EXTRA_CPU_CONF="[DEFAULT]
# containers deleted in Nova while the agent was away are removed at the next poll
running_deleted_instance_action = reap
running_deleted_instance_poll_interval = 60
# wait for Neutron to report ports plugged before starting the workload
vif_plugging_is_fatal = true
vif_plugging_timeout = 120
[berth]
agent_topic = berth-agent
events_topic = berth-compute-events"
NOVA_VIRT_DIR=/usr/lib/python3/dist-packages/nova/virt

berth_nova_driver_install() { apt_install busybox-static; }

# the shim lives inside Nova's package: Nova loads drivers only from nova.virt
berth_nova_driver_shim() {
  mkdir -p $NOVA_VIRT_DIR/berth
  install -m 0644 "$BERTH_ROOT"/nova-driver/python/berth/*.py $NOVA_VIRT_DIR/berth/
  $PY -m compileall -q $NOVA_VIRT_DIR/berth
}

berth_nova_driver_agent_up() {
  berth_install && berth_nova_driver_shim && "$BERTH_ROOT/devstack/tools/berth-sandbox-image" || return 1
  mkdir -p $BERTH_ETC /var/lib/berth/nova-agent
  put_conf $BERTH_ETC/nova-agent.conf <<EOT
[DEFAULT]
host = $NOVA_HOST
transport_url = $TRANSPORT
control_exchange = nova
[agent]
sandbox_image = berth/sandbox:latest
image_cache_max_gb = 10
[resources]
reserved_host_memory_mb = 512
$(berth_auth_section service_auth nova)
[database]
connection = sqlite:////var/lib/berth/nova-agent/agent.db
EOT
  local off; off=$(log_lines berth-nova-agent)
  berth_node berth-nova-agent nova-driver/dist/main.js --config-file $BERTH_ETC/nova-agent.conf
  [ "$STARTED" = yes ] || return 0
  wait_log berth-nova-agent "$off" '"serving RPC"' 60
}

berth_nova_driver_up() { alive berth-nova-agent || berth_nova_driver_agent_up; }
berth_nova_driver_down() { stop_bg berth-nova-agent; }
