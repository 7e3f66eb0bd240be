# shellcheck shell=bash
# Neutron (21, Zed): neutron-server with ML2 (flat + VXLAN, linuxbridge and
# l2population mechanism drivers) and Debian's neutron-linuxbridge-agent
# binding container ports on this host (security groups as iptables on the
# tap devices), database on MariaDB. Measured on this machine (see
# shared/reference/neutron-linuxbridge.md): OVS cannot run (no openvswitch
# kernel module), multicast VXLAN on lo loops frames back (hence
# l2population), and the agent needs the ebtables-nft fix in
# neutron_arp_protect_fix.py.

NEUTRON_LB_INI=/etc/neutron/plugins/ml2/linuxbridge_agent.ini
ARP_PROTECT=/usr/lib/python3/dist-packages/neutron/plugins/ml2/drivers/linuxbridge/agent/arp_protect.py
# the network the demo and the tests put containers on
NEUTRON_DEMO_NET=private
NEUTRON_DEMO_CIDR=10.20.0.0/24
# a flat provider network the host itself is on (as devstack's "public"):
# servers on it reach host services (the cluster service's node report API)
# and the host reaches them (a cluster's API address). Its uplink is a veth
# pair: berth-pub0 keeps the host address, berth-pub1 is physnet1 for the
# linuxbridge agent (this kernel has no dummy interfaces).
NEUTRON_PUBLIC_NET=public
NEUTRON_PUBLIC_CIDR=172.24.4.0/24
NEUTRON_PUBLIC_HOST_IP=172.24.4.1
NEUTRON_PUBLIC_POOL=start=172.24.4.10,end=172.24.4.250
NEUTRON_PUBLIC_HOST_IF=berth-pub0
NEUTRON_PUBLIC_UPLINK=berth-pub1

neutron_install() { apt_install neutron-server neutron-linuxbridge-agent sudo conntrack ebtables ipset; }

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
root_helper = sudo neutron-rootwrap /etc/neutron/rootwrap.conf
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
  put_conf $NEUTRON_LB_INI <<EOT
[DEFAULT]
host = $NOVA_HOST
[linux_bridge]
physical_interface_mappings = physnet1:$NEUTRON_PUBLIC_UPLINK
[vxlan]
enable_vxlan = true
# VXLAN between hosts goes over local_ip; one host here, so loopback
local_ip = 127.0.0.1
# unicast VXLAN with forwarding entries from the server: multicast on lo
# loops broadcast frames back into the bridge and poisons its FDB
l2_population = true
[securitygroup]
enable_security_group = true
firewall_driver = iptables
[agent]
polling_interval = 2
EOT
}

neutron_up() {
  mariadb_db neutron
  mkdir -p /var/lib/neutron/lock
  neutron_conf
  ks_register user:neutron endpoint:neutron:network:http://127.0.0.1:9696 >/dev/null || return 1
  alive neutron-server || run_logged neutron-manage neutron-db-manage --config-file /etc/neutron/neutron.conf \
    --config-file /etc/neutron/plugins/ml2/ml2_conf.ini upgrade heads || return 1
  start_conf neutron-server "/etc/neutron/neutron.conf /etc/neutron/plugins/ml2/ml2_conf.ini" /usr/bin/neutron-server --config-file /etc/neutron/neutron.conf \
    --config-file /etc/neutron/plugins/ml2/ml2_conf.ini
  wait_http http://127.0.0.1:9696/ 120 && neutron_agent_up && neutron_demo_network
}

# the veth pair carrying the provider network to the host (recreated after a reboot)
neutron_provider_link() {
  ip link show $NEUTRON_PUBLIC_HOST_IF >/dev/null 2>&1 ||
    ip link add $NEUTRON_PUBLIC_HOST_IF type veth peer name $NEUTRON_PUBLIC_UPLINK || return 1
  ip link set $NEUTRON_PUBLIC_UPLINK up && ip link set $NEUTRON_PUBLIC_HOST_IF up || return 1
  grep -q " $NEUTRON_PUBLIC_HOST_IP/" < <(ip -o addr show dev $NEUTRON_PUBLIC_HOST_IF) ||
    ip addr add $NEUTRON_PUBLIC_HOST_IP/${NEUTRON_PUBLIC_CIDR#*/} dev $NEUTRON_PUBLIC_HOST_IF
}

neutron_agent_up() {
  neutron_provider_link || return 1
  $PY "$AIO_DIR/lib/neutron_arp_protect_fix.py" $ARP_PROTECT >>"$AIO_LOG/neutron-manage.log" || return 1
  start_conf neutron-linuxbridge-agent "/etc/neutron/neutron.conf /etc/neutron/plugins/ml2/ml2_conf.ini $NEUTRON_LB_INI $ARP_PROTECT" \
    /usr/bin/neutron-linuxbridge-agent --config-file /etc/neutron/neutron.conf \
    --config-file /etc/neutron/plugins/ml2/ml2_conf.ini --config-file $NEUTRON_LB_INI
  # bound ports need the agent alive in the server's agent list
  local i
  for i in $(seq 90); do
    openstack network agent list --host "$NOVA_HOST" --agent-type linux-bridge -f value -c Alive 2>/dev/null |
      grep -q True && return 0
    alive neutron-linuxbridge-agent || { tail -20 "$AIO_LOG/neutron-linuxbridge-agent.log"; return 1; }
    sleep 1
  done
  say "neutron-linuxbridge-agent did not report alive"; return 1
}

# a shared tenant (VXLAN) network for the demo and tests, no router; and the
# external flat provider network the host is on
neutron_demo_network() {
  openstack network show $NEUTRON_PUBLIC_NET >/dev/null 2>&1 ||
    openstack network create --external --share --provider-network-type flat \
      --provider-physical-network physnet1 $NEUTRON_PUBLIC_NET -f value -c id >/dev/null || return 1
  openstack subnet show $NEUTRON_PUBLIC_NET-subnet >/dev/null 2>&1 ||
    openstack subnet create --network $NEUTRON_PUBLIC_NET --subnet-range $NEUTRON_PUBLIC_CIDR \
      --gateway $NEUTRON_PUBLIC_HOST_IP --allocation-pool $NEUTRON_PUBLIC_POOL --no-dhcp \
      $NEUTRON_PUBLIC_NET-subnet -f value -c id >/dev/null || return 1
  openstack network show $NEUTRON_DEMO_NET >/dev/null 2>&1 ||
    openstack network create --share $NEUTRON_DEMO_NET -f value -c id >/dev/null || return 1
  openstack subnet show $NEUTRON_DEMO_NET-subnet >/dev/null 2>&1 ||
    openstack subnet create --network $NEUTRON_DEMO_NET --subnet-range $NEUTRON_DEMO_CIDR \
      --dns-nameserver 10.20.0.1 $NEUTRON_DEMO_NET-subnet -f value -c id >/dev/null
}

neutron_down() { stop_bg neutron-linuxbridge-agent; stop_bg neutron-server; }
