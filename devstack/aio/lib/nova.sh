# shellcheck shell=bash
# Nova (26, Zed): nova-api under uwsgi on :8774, conductor, scheduler, and
# nova-compute run straight from python3-nova (the nova-compute package pulls
# libvirt and qemu: 65 packages nothing here needs). Cells v2 on MariaDB.

NOVA_HOST=${BERTH_AIO_HOST:-aio1}
# The driver nova-compute loads (lib/berth-nova-driver.sh sets Berth's) and
# what must run before nova-compute starts (Berth's agent): set by components.
NOVA_COMPUTE_DRIVER=${NOVA_COMPUTE_DRIVER:-fake.FakeDriver}
NOVA_PRE_COMPUTE_HOOKS=${NOVA_PRE_COMPUTE_HOOKS:-}
NOVA_COMPUTE_PY='import sys; sys.argv[0] = "nova-compute"; from nova.cmd.compute import main; sys.exit(main())'
NOVA_EXTRA_CPU_CONF=${NOVA_EXTRA_CPU_CONF:-}   # extra [section] lines for nova-cpu.conf (set by berth.sh)
NOVA_COMPUTE_STAMP_FILES=${NOVA_COMPUTE_STAMP_FILES:-}  # more files whose change restarts nova-compute

nova_install() { apt_install nova-api nova-conductor nova-scheduler; }

nova_conf_common() {
  cat <<EOT
[DEFAULT]
transport_url = $TRANSPORT
host = $NOVA_HOST
my_ip = 127.0.0.1
state_path = /var/lib/nova
compute_driver = $NOVA_COMPUTE_DRIVER
enabled_apis = osapi_compute
osapi_compute_listen = 127.0.0.1
osapi_compute_workers = 3
metadata_workers = 1
instance_name_template = instance-%08x
[api]
auth_strategy = keystone
[conductor]
workers = 1
[scheduler]
workers = 1
discover_hosts_in_cells_interval = -1
[filter_scheduler]
# containers: no CPU or RAM overcommit surprises beyond Placement's ratios
available_filters = nova.scheduler.filters.all_filters
$(authtoken_section nova)
$(service_auth_section placement placement)
$(service_auth_section neutron nova)
[glance]
region_name = RegionOne
[cinder]
os_region_name = RegionOne
[vnc]
enabled = false
[oslo_concurrency]
lock_path = /var/lock/nova
[oslo_messaging_notifications]
driver = noop
[wsgi]
api_paste_config = /etc/nova/api-paste.ini
EOT
}

nova_up() {
  mariadb_db nova_api nova nova_cell0
  mkdir -p /var/lib/nova/instances /var/lock/nova
  # nova-compute gets nova-cpu.conf: the same without DB sections (with them
  # it logs "No DB access allowed in nova-compute" at start).
  { nova_conf_common; printf '%s\n' "$NOVA_EXTRA_CPU_CONF"; } >/etc/nova/nova-cpu.conf
  { nova_conf_common; cat <<EOT
[api_database]
connection = $(db_url nova_api)
[database]
connection = $(db_url nova)
EOT
  } | put_conf /etc/nova/nova.conf
  # nova-api is a WSGI app under uwsgi: its AMQP heartbeat must run in a
  # native thread, or idle workers miss heartbeats, RabbitMQ drops their
  # connections and later RPC calls (console log, attach interface) time out
  cat >/etc/nova/nova-api.conf <<EOT
[oslo_messaging_rabbit]
heartbeat_in_pthread = true
EOT
  ks_register user:nova endpoint:nova:compute:http://127.0.0.1:8774/v2.1 >/dev/null || return 1
  local m="nova-manage --config-file /etc/nova/nova.conf"
  if ! alive nova-api; then
    run_logged nova-manage $m api_db sync || return 1
    grep -q ' cell0 ' < <($m cell_v2 list_cells 2>/dev/null) ||
      run_logged nova-manage $m cell_v2 map_cell0 --database_connection "$(db_url nova_cell0)" || return 1
    grep -q ' cell1 ' < <($m cell_v2 list_cells 2>/dev/null) ||
      run_logged nova-manage $m cell_v2 create_cell --name cell1 --verbose || return 1
    run_logged nova-manage $m db sync || return 1
  fi
  start_conf nova-conductor /etc/nova/nova.conf nova-conductor --config-file /etc/nova/nova.conf
  start_conf nova-scheduler /etc/nova/nova.conf nova-scheduler --config-file /etc/nova/nova.conf
  # 3 single-threaded workers (as devstack runs it): a burst of concurrent
  # boots otherwise queues behind one slow request
  start_conf nova-api "/etc/nova/nova.conf /etc/nova/nova-api.conf" \
    env OS_NOVA_CONFIG_FILES="api-paste.ini;nova.conf;nova-api.conf" uwsgi --plugin python3 --http-socket 127.0.0.1:8774 --wsgi-file /usr/bin/nova-api-wsgi \
    --processes 3 --threads 1 --lazy-apps --master --die-on-term --add-header "Connection: close"
  local h; for h in $NOVA_PRE_COMPUTE_HOOKS; do "$h" || return 1; done
  nova_compute_start || return 1
  wait_http http://127.0.0.1:8774/ 120 || return 1
  nova_compute_wait_up || return 1
  run_logged nova-manage $m cell_v2 discover_hosts --verbose
}

nova_compute_start() {
  # a changed nova-cpu.conf (another compute driver) or driver shim needs a restart
  start_conf nova-compute "/etc/nova/nova-cpu.conf $NOVA_COMPUTE_STAMP_FILES" \
    $PY -c "$NOVA_COMPUTE_PY" --config-file /etc/nova/nova-cpu.conf
}

# nova-compute is up once its service record reports "up"
nova_compute_wait_up() {
  local i
  for i in $(seq 120); do
    alive nova-compute || { tail -20 "$AIO_LOG/nova-compute.log"; return 1; }
    openstack compute service list --service nova-compute --host "$NOVA_HOST" -f value -c State 2>/dev/null |
      grep -q up && return 0
    sleep 1
  done
  say "nova-compute did not report up"; return 1
}

nova_down() { local s; for s in nova-compute nova-api nova-scheduler nova-conductor; do stop_bg $s; done; }
