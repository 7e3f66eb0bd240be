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

/** Exact-match filters Neutron applies on list calls. */
export type NeutronFilters = Record<string, string | string[] | undefined>;
