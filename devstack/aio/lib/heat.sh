# shellcheck shell=bash
# Heat (19, Zed): heat-api on :8004 and heat-engine, both eventlet servers.

HEAT_PLUGIN_DIR=/etc/heat/plugins

heat_install() { apt_install heat-api heat-engine; }

heat_up() {
  mariadb_db heat
  mkdir -p /var/lib/heat /var/lock/heat $HEAT_PLUGIN_DIR
  put_conf /etc/heat/heat.conf <<EOT
[DEFAULT]
transport_url = $TRANSPORT
num_engine_workers = 1
region_name_for_services = RegionOne
heat_metadata_server_url = http://127.0.0.1:8000
heat_waitcondition_server_url = http://127.0.0.1:8000/v1/waitcondition
stack_user_domain_name = heat
stack_domain_admin = heat_domain_admin
stack_domain_admin_password = $PASS
plugin_dirs = $HEAT_PLUGIN_DIR
[database]
connection = $(db_url heat)
[heat_api]
bind_host = 127.0.0.1
bind_port = 8004
workers = 1
$(authtoken_section heat)
[trustee]
auth_type = password
auth_url = $KS
username = heat
password = $PASS
user_domain_name = Default
[clients_keystone]
auth_uri = $KS
[oslo_messaging_notifications]
driver = noop
[oslo_concurrency]
lock_path = /var/lock/heat
EOT
  ks_register user:heat "endpoint:heat:orchestration:http://127.0.0.1:8004/v1/%(tenant_id)s" \
    domain_admin:heat:heat_domain_admin role:heat_stack_owner role:heat_stack_user >/dev/null || return 1
  alive heat-engine || run_logged heat-manage heat-manage --config-file /etc/heat/heat.conf db_sync || return 1
  heat_engine_start || return 1
  start_conf heat-api /etc/heat/heat.conf heat-api --config-file /etc/heat/heat.conf
  wait_http http://127.0.0.1:8004/ 120
}

# heat-engine loads plugin_dirs once, at start: a changed plugin restarts it
heat_engine_start() {
  local files; files="/etc/heat/heat.conf $(find $HEAT_PLUGIN_DIR -type f -name '*.py' 2>/dev/null | sort | tr '\n' ' ')"
  local off; off=$(log_lines heat-engine)
  start_conf heat-engine "$files" heat-engine --config-file /etc/heat/heat.conf
  [ "$STARTED" = yes ] || return 0
  wait_log heat-engine "$off" 'Starting engine_worker|Starting 1 workers|engine_worker' 120
}
heat_engine_restart() { stop_bg heat-engine; heat_engine_start; }

heat_down() { stop_bg heat-api; stop_bg heat-engine; }
