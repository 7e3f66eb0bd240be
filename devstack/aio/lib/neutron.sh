# shellcheck shell=bash
# Neutron (21, Zed): neutron-server with ML2 (flat + VXLAN, linuxbridge and
# l2population mechanism drivers), database on MariaDB. Nova needs a real
# `network` endpoint even for `--nic none` servers (show/list/delete ask it
# for ports and security groups).

neutron_install() { apt_install neutron-server; }

neutron_conf() {
  put_conf /etc/neutron/neutron.conf <<EOT
[DEFAULT]
core_plugin = ml2
service_plugins =
auth_strategy = keystone
transport_url = $TRANSPORT
host = $NOVA_HOST
bind_host = 127.0.0.1
bind_port = 9696
api_workers = 1
rpc_workers = 1
rpc_state_report_workers = 0
state_path = /var/lib/neutron
allow_overlapping_ips = true
dhcp_agent_notification = false
notify_nova_on_port_status_changes = true
notify_nova_on_port_data_changes = true
[agent]
root_helper = neutron-rootwrap /etc/neutron/rootwrap.conf
[database]
connection = $(db_url neutron)
[experimental]
# Zed marks the linuxbridge mechanism driver experimental; without this the
# server exits at start
linuxbridge = true
$(authtoken_section neutron)
$(service_auth_section nova nova)
[oslo_concurrency]
lock_path = /var/lib/neutron/lock
[oslo_messaging_notifications]
driver = noop
EOT
  put_conf /etc/neutron/plugins/ml2/ml2_conf.ini <<EOT
[ml2]
type_drivers = flat,vxlan
tenant_network_types = vxlan
mechanism_drivers = linuxbridge,l2population
extension_drivers = port_security
[ml2_type_flat]
flat_networks = *
[ml2_type_vxlan]
vni_ranges = 1:1000
[securitygroup]
enable_security_group = true
enable_ipset = true
EOT
}

neutron_up() {
  mariadb_db neutron
  mkdir -p /var/lib/neutron/lock
  neutron_conf
  ks_register user:neutron endpoint:neutron:network:http://127.0.0.1:9696 >/dev/null || return 1
  alive neutron-server && return 0
  run_logged neutron-manage neutron-db-manage --config-file /etc/neutron/neutron.conf \
    --config-file /etc/neutron/plugins/ml2/ml2_conf.ini upgrade heads || return 1
  start_bg neutron-server /usr/bin/neutron-server --config-file /etc/neutron/neutron.conf \
    --config-file /etc/neutron/plugins/ml2/ml2_conf.ini
  wait_http http://127.0.0.1:9696/ 120
}

neutron_down() { stop_bg neutron-server; }
