// The parts of Neutron's networking API (v2.0) that Berth reads and writes,
// typed as Neutron answers them. Only JSON, never Neutron objects.

export interface Network {
  id: string;
  name: string;
  project_id: string;
  status: string;
  admin_state_up: boolean;
  shared: boolean;
  subnets: string[];
  mtu?: number;
  description?: string;
  tags?: string[];
  'router:external'?: boolean;
}

export interface AllocationPool {
  start: string;
  end: string;
}

export interface Subnet {
  id: string;
  name: string;
  network_id: string;
  project_id: string;
  ip_version: 4 | 6;
  cidr: string;
  gateway_ip: string | null;
  allocation_pools: AllocationPool[];
  dns_nameservers: string[];
  enable_dhcp: boolean;
  description?: string;
}

export interface Port {
  id: string;
  name: string;
  network_id: string;
  project_id: string;
  device_id: string;
  device_owner: string;
  status: string;
  mac_address: string;
  fixed_ips: Array<{ subnet_id: string; ip_address: string }>;
}

export interface CreateNetworkRequest {
  name: string;
  description?: string;
  admin_state_up?: boolean;
}

export interface UpdateNetworkRequest {
  name?: string;
  description?: string;
}

export interface CreateSubnetRequest {
  network_id: string;
  cidr: string;
  ip_version: 4 | 6;
  name?: string;
  /** omitted: Neutron picks the first address; null: no gateway */
  gateway_ip?: string | null;
  allocation_pools?: AllocationPool[];
  dns_nameservers?: string[];
  enable_dhcp?: boolean;
  description?: string;
}

export interface UpdateSubnetRequest {
  name?: string;
  gateway_ip?: string | null;
  allocation_pools?: AllocationPool[];
  dns_nameservers?: string[];
  enable_dhcp?: boolean;
}

export interface SecurityGroupRule {
  id: string;
  security_group_id: string;
  direction: 'ingress' | 'egress';
  ethertype: 'IPv4' | 'IPv6';
  /** null: any protocol */
  protocol: string | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix: string | null;
  remote_group_id: string | null;
  project_id: string;
  description?: string;
}

export interface SecurityGroup {
  id: string;
  name: string;
  description: string;
  project_id: string;
  /** Neutron adds egress-to-anywhere rules (IPv4 and IPv6) to every new group */
  security_group_rules: SecurityGroupRule[];
  stateful?: boolean;
  tags?: string[];
}

export interface CreateSecurityGroupRequest {
  name: string;
  description?: string;
  /** admins only: create it in another project */
  project_id?: string;
}

export interface CreateSecurityGroupRuleRequest {
  security_group_id: string;
  direction: 'ingress' | 'egress';
  /** default IPv4 */
  ethertype?: 'IPv4' | 'IPv6';
  /** tcp, udp, icmp... or a number; omitted: any protocol */
  protocol?: string;
  port_range_min?: number;
  port_range_max?: number;
  /** where traffic may come from (ingress) or go to (egress): a CIDR, or members of a group */
  remote_ip_prefix?: string;
  remote_group_id?: string;
  description?: string;
}

/** Exact-match filters Neutron applies on list calls. */
export type NeutronFilters = Record<string, string | string[] | undefined>;
