// The parts of Nova's compute API (v2.1) that Berth reads and writes, typed
// as Nova answers them at the microversion the client pins. Fields Nova may
// omit are optional; nothing here is a Nova object, only its JSON.

export type ServerStatus =
  | 'ACTIVE'
  | 'BUILD'
  | 'DELETED'
  | 'ERROR'
  | 'HARD_REBOOT'
  | 'MIGRATING'
  | 'PASSWORD'
  | 'PAUSED'
  | 'REBOOT'
  | 'REBUILD'
  | 'RESCUE'
  | 'RESIZE'
  | 'REVERT_RESIZE'
  | 'SHELVED'
  | 'SHELVED_OFFLOADED'
  | 'SHUTOFF'
  | 'SOFT_DELETED'
  | 'SUSPENDED'
  | 'UNKNOWN'
  | 'VERIFY_RESIZE';

export interface ServerAddress {
  addr: string;
  version: 4 | 6;
  'OS-EXT-IPS:type'?: 'fixed' | 'floating';
  'OS-EXT-IPS-MAC:mac_addr'?: string;
}

export interface ServerFault {
  code: number;
  message: string;
  details?: string;
  created: string;
}

export interface Server {
  id: string;
  name: string;
  status: ServerStatus;
  tenant_id: string;
  user_id: string;
  metadata: Record<string, string>;
  /** network name -> addresses */
  addresses: Record<string, ServerAddress[]>;
  created: string;
  updated: string;
  key_name?: string | null;
  fault?: ServerFault;
  'OS-EXT-STS:task_state'?: string | null;
  'OS-EXT-STS:vm_state'?: string;
  'OS-EXT-STS:power_state'?: number;
  /** only for admins */
  'OS-EXT-SRV-ATTR:host'?: string | null;
  /** a hash of the host, unique per project: servers with equal hostId share a host */
  hostId?: string;
  'OS-EXT-AZ:availability_zone'?: string;
  /** the image booted ("" for volume-booted servers) */
  image?: { id: string } | '';
  /** 2.47+: the flavor as it was at boot; before: a link to it */
  flavor?: ServerFlavor | { id: string };
}

/** The flavor embedded in a server at microversion 2.47 and later. */
export interface ServerFlavor {
  original_name: string;
  ram: number;
  vcpus: number;
  disk: number;
  ephemeral?: number;
  swap?: number;
  extra_specs?: Record<string, string>;
}

/** A new server's networks: "none", "auto" (2.37+), or explicit ports/networks. */
export type ServerNetworks = 'none' | 'auto' | Array<{ uuid?: string; port?: string; fixed_ip?: string }>;

export interface CreateServerRequest {
  name: string;
  imageRef: string;
  flavorRef: string;
  networks: ServerNetworks;
  /** plain text; the client base64-encodes it (Nova limit: 65535 bytes encoded) */
  userData?: string;
  metadata?: Record<string, string>;
  keyName?: string;
  /** security group names or ids for the server's ports (Nova's default: the project's `default`) */
  securityGroups?: string[];
  availabilityZone?: string;
  /** `os:scheduler_hints`: same_host, different_host, group, query... */
  schedulerHints?: Record<string, string | string[]>;
}

export interface RebuildServerRequest {
  imageRef: string;
  /** replaces the server's user data (2.57+); plain text, base64-encoded by the client */
  userData?: string;
  name?: string;
}

/** Server actions without arguments (POST /servers/{id}/action {"<action>": null}). */
export type SimpleServerAction = 'suspend' | 'resume' | 'pause' | 'unpause' | 'os-start' | 'os-stop';

export interface CreatedServer {
  id: string;
  links: Array<{ rel: string; href: string }>;
  adminPass?: string;
}

export interface ServerListFilters {
  /** a regular expression, as Nova applies it */
  name?: string;
  status?: ServerStatus;
  /** admins only: servers of every project */
  allTenants?: boolean;
  projectId?: string;
  limit?: number;
  marker?: string;
}

export interface Flavor {
  id: string;
  name: string;
  ram: number;
  vcpus: number;
  disk: number;
  'OS-FLV-EXT-DATA:ephemeral'?: number;
  'os-flavor-access:is_public'?: boolean;
  extra_specs?: Record<string, string>;
}

export interface Keypair {
  name: string;
  fingerprint: string;
  public_key: string;
  type?: string;
}
