# shellcheck shell=bash
# Berth heat-resources: the service behind Heat's OS::Container::Container,
# OS::Container::Network and OS::Container::Volume, and the generic plugin
# heat-engine loads from its plugin_dirs. The service runs as the Keystone
# user berth-heat-resources (it only validates tokens: every OpenStack call
# is made with the caller's own token), listens on 127.0.0.1:8788 and is in
# the catalog as service type `container-orchestration`.
#
# The plugin reads the type schema from a file (no network I/O when
# heat-engine starts): the service writes it, this file installs it as
# /etc/heat/berth/resource-types.json with the plugin module in
# $HEAT_PLUGIN_DIR, and restarts heat-engine only when either changed.

BERTH_COMPONENTS+=" heat_resources"
BERTH_SERVICES+=" berth-heat-resources"
HEAT_RESOURCES_PORT=${HEAT_RESOURCES_PORT:-8788}
HEAT_RESOURCES_URL=http://127.0.0.1:$HEAT_RESOURCES_PORT
HEAT_RESOURCES_USER=berth-heat-resources
HEAT_RESOURCES_SERVICE_TYPE=container-orchestration
HEAT_RESOURCES_TYPES=/etc/heat/berth/resource-types.json
HEAT_RESOURCES_CONF=$BERTH_ETC/heat-resources.conf

# No Debian packages of its own: the plugin needs only what heat-engine has
# (python3-heat, keystoneauth1; jsonschema comes with Heat's glanceclient).
berth_heat_resources_install() { apt_install heat-engine; }

berth_heat_resources_conf() {
  local state=$BERTH_STATE/heat-resources
  mkdir -p "$state"
  put_conf $HEAT_RESOURCES_CONF <<EOT
# berth-heat-resources --help lists every option
[DEFAULT]
state_dir = $state
service_type = $HEAT_RESOURCES_SERVICE_TYPE
[api]
bind_host = 127.0.0.1
bind_port = $HEAT_RESOURCES_PORT
$(berth_auth_section keystone_authtoken $HEAT_RESOURCES_USER)
[database]
connection = sqlite:///$state/heat-resources.db
[compute]
interface = internal
[network]
interface = internal
[image]
interface = internal
EOT
}

# the plugin module and the type schema on this heat-engine host; a restart of heat-engine when they changed
berth_heat_resources_plugin() {
  mkdir -p "$(dirname $HEAT_RESOURCES_TYPES)" $HEAT_PLUGIN_DIR
  node "$BERTH_ROOT/heat-resources/dist/cli/main.js" --config-file $HEAT_RESOURCES_CONF \
    write-types $HEAT_RESOURCES_TYPES >>"$AIO_LOG/berth-heat-resources.log" 2>&1 || return 1
  install -m 0644 "$BERTH_ROOT/heat-resources/plugin/berth_heat_resources.py" $HEAT_PLUGIN_DIR/
  local stamp; stamp=$(cat $HEAT_PLUGIN_DIR/berth_heat_resources.py $HEAT_RESOURCES_TYPES | md5sum)
  if [ "$(cat "$AIO_RUN/heat-engine.berth-plugin.stamp" 2>/dev/null)" != "$stamp" ]; then
    say "Berth heat plugin or resource types changed: restarting heat-engine"
    heat_engine_restart || return 1
    echo "$stamp" >"$AIO_RUN/heat-engine.berth-plugin.stamp"
  fi
}

berth_heat_resources_up() {
  berth_heat_resources_install || return 1
  berth_heat_resources_conf
  ks_register "user:$HEAT_RESOURCES_USER" \
    "endpoint:berth-heat-resources:$HEAT_RESOURCES_SERVICE_TYPE:$HEAT_RESOURCES_URL" >/dev/null || return 1
  # a new build or config needs a restart
  local stamp; stamp=$( { cat $HEAT_RESOURCES_CONF; find "$BERTH_ROOT"/heat-resources/dist "$BERTH_ROOT"/heat-resources/api "$BERTH_ROOT"/libs/*/dist -name "*.js" -o -name "*.yaml" | xargs md5sum; } 2>/dev/null | md5sum)
  if alive berth-heat-resources && [ "$(cat "$AIO_RUN/berth-heat-resources.stamp" 2>/dev/null)" != "$stamp" ]; then
    stop_bg berth-heat-resources
  fi
  echo "$stamp" >"$AIO_RUN/berth-heat-resources.stamp"
  if ! alive berth-heat-resources; then
    berth_node berth-heat-resources heat-resources/dist/cli/main.js --config-file $HEAT_RESOURCES_CONF
    wait_http $HEAT_RESOURCES_URL/healthcheck 60 || return 1
  fi
  berth_heat_resources_plugin
}

berth_heat_resources_down() { stop_bg berth-heat-resources; }

# restart only the service (the tests stop it to check Heat fails a resource, not itself)
berth_heat_resources_restart() { stop_bg berth-heat-resources; berth_heat_resources_up; }
