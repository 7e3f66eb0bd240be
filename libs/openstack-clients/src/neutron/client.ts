// A small typed client for Neutron's networking API v2.0 over a
// keystone-client-ts session: networks, subnets and ports (create, show,
// list with exact-match filters, update, delete), security groups and their
// rules (create, show, list, delete). Acting with a user's
// session, every call is scoped and policed as that user.

import {
  createHttpClient,
  type HttpClientOptions,
  type KeystoneSession,
  OpenStackHttpError,
} from 'keystone-client-ts';

import type {
  CreateNetworkRequest,
  CreateSecurityGroupRequest,
  CreateSecurityGroupRuleRequest,
  CreateSubnetRequest,
  Network,
  NeutronFilters,
  Port,
  SecurityGroup,
  SecurityGroupRule,
  Subnet,
  UpdateNetworkRequest,
  UpdateSubnetRequest,
} from './types';

export interface NeutronClientOptions {
  /** catalog interface and region (default: the session's) */
  interface?: 'public' | 'internal' | 'admin';
  region?: string;
  /** fixed Neutron URL (with or without /v2.0); wins over the catalog */
  endpointOverride?: string;
  timeoutMs?: number;
  /** X-OpenStack-Request-ID supplier, to follow one user action across services */
  requestId?: () => string | undefined;
  /** replaces the network layer (unit tests) */
  adapter?: HttpClientOptions['adapter'];
}

/** Neutron said 404 for the network, subnet or port asked for. */
export function isNeutronNotFound(e: unknown): boolean {
  return e instanceof OpenStackHttpError && e.status === 404;
}

/** Neutron refused because the object is in use (409), e.g. a network that still has ports. */
export function isNeutronConflict(e: unknown): boolean {
  return e instanceof OpenStackHttpError && e.status === 409;
}

type Kind = 'network' | 'subnet' | 'port' | 'security_group' | 'security_group_rule';
/** the collection's key in list answers and bulk bodies */
const PLURAL: Record<Kind, string> = {
  network: 'networks',
  subnet: 'subnets',
  port: 'ports',
  security_group: 'security_groups',
  security_group_rule: 'security_group_rules',
};
/** the collection's URL path (Neutron spells the security ones with dashes) */
const PATH: Record<Kind, string> = {
  network: 'networks',
  subnet: 'subnets',
  port: 'ports',
  security_group: 'security-groups',
  security_group_rule: 'security-group-rules',
};

export class NeutronClient {
  private readonly http: ReturnType<typeof createHttpClient>;

  constructor(session: KeystoneSession, options: NeutronClientOptions = {}) {
    const service: HttpClientOptions['service'] = { type: 'network' };
    if (options.interface) service.interface = options.interface;
    if (options.region) service.region = options.region;
    const httpOptions: HttpClientOptions = { service };
    // the catalog lists Neutron's root; paths here carry /v2.0 themselves
    if (options.endpointOverride)
      httpOptions.endpointOverride = options.endpointOverride.replace(/\/v2\.0\/?$/, '');
    if (options.timeoutMs) httpOptions.timeoutMs = options.timeoutMs;
    if (options.requestId) httpOptions.requestId = options.requestId;
    if (options.adapter) httpOptions.adapter = options.adapter;
    this.http = createHttpClient(session, httpOptions);
  }

  // ---- networks ----

  createNetwork(req: CreateNetworkRequest): Promise<Network> {
    return this.create('network', req);
  }
  getNetwork(id: string): Promise<Network> {
    return this.get('network', id);
  }
  findNetwork(id: string): Promise<Network | undefined> {
    return this.find('network', id);
  }
  listNetworks(filters: NeutronFilters = {}): Promise<Network[]> {
    return this.list('network', filters);
  }
  updateNetwork(id: string, req: UpdateNetworkRequest): Promise<Network> {
    return this.update('network', id, req);
  }
  deleteNetwork(id: string): Promise<boolean> {
    return this.remove('network', id);
  }

  /**
   * A network by id, then by exact name among those the caller sees, as the
   * openstack CLI resolves `--network`. Undefined when none; an error when
   * the name is ambiguous.
   */
  async resolveNetwork(idOrName: string): Promise<Network | undefined> {
    const byId = await this.findNetwork(idOrName);
    if (byId) return byId;
    const named = await this.listNetworks({ name: idOrName });
    if (named.length > 1) throw new Error(`more than one network is named "${idOrName}"; use its id`);
    return named[0];
  }

  // ---- subnets ----

  createSubnet(req: CreateSubnetRequest): Promise<Subnet> {
    return this.create('subnet', req);
  }
  getSubnet(id: string): Promise<Subnet> {
    return this.get('subnet', id);
  }
  findSubnet(id: string): Promise<Subnet | undefined> {
    return this.find('subnet', id);
  }
  listSubnets(filters: NeutronFilters = {}): Promise<Subnet[]> {
    return this.list('subnet', filters);
  }
  updateSubnet(id: string, req: UpdateSubnetRequest): Promise<Subnet> {
    return this.update('subnet', id, req);
  }
  deleteSubnet(id: string): Promise<boolean> {
    return this.remove('subnet', id);
  }

  // ---- ports ----

  getPort(id: string): Promise<Port> {
    return this.get('port', id);
  }
  findPort(id: string): Promise<Port | undefined> {
    return this.find('port', id);
  }
  listPorts(filters: NeutronFilters = {}): Promise<Port[]> {
    return this.list('port', filters);
  }

  // ---- security groups ----

  createSecurityGroup(req: CreateSecurityGroupRequest): Promise<SecurityGroup> {
    return this.create('security_group', req);
  }
  findSecurityGroup(id: string): Promise<SecurityGroup | undefined> {
    return this.find('security_group', id);
  }
  listSecurityGroups(filters: NeutronFilters = {}): Promise<SecurityGroup[]> {
    return this.list('security_group', filters);
  }
  /** Deletes; false when it was already gone. A 409 (SecurityGroupInUse: ports still have it) is thrown. */
  deleteSecurityGroup(id: string): Promise<boolean> {
    return this.remove('security_group', id);
  }

  /**
   * Adds rules in one request (Neutron's bulk create: all or none). A rule
   * equal to one the group has is a 409 (SecurityGroupRuleExists).
   */
  async createSecurityGroupRules(rules: CreateSecurityGroupRuleRequest[]): Promise<SecurityGroupRule[]> {
    if (rules.length === 0) return [];
    const { data } = await this.http.post<{ security_group_rules: SecurityGroupRule[] }>(
      `/v2.0/${PATH.security_group_rule}`,
      { security_group_rules: rules },
    );
    return data.security_group_rules;
  }

  // ---- one shape for every resource: POST/GET/PUT/DELETE /v2.0/<path>[/<id>] ----

  private async create<T>(kind: Kind, body: object): Promise<T> {
    const { data } = await this.http.post<Record<string, T>>(`/v2.0/${PATH[kind]}`, { [kind]: body });
    return data[kind] as T;
  }

  private async get<T>(kind: Kind, id: string): Promise<T> {
    const { data } = await this.http.get<Record<string, T>>(`/v2.0/${PATH[kind]}/${encodeURIComponent(id)}`);
    return data[kind] as T;
  }

  private async find<T>(kind: Kind, id: string): Promise<T | undefined> {
    try {
      return await this.get<T>(kind, id);
    } catch (e) {
      if (isNeutronNotFound(e)) return undefined;
      throw e;
    }
  }

  /** Neutron pages only when asked (limit/marker); without them one answer holds everything. */
  private async list<T>(kind: Kind, filters: NeutronFilters): Promise<T[]> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(filters)) {
      if (v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [v]) params.append(k, one);
    }
    const q = params.toString();
    const plural = PLURAL[kind];
    const { data } = await this.http.get<Record<string, T[]>>(`/v2.0/${PATH[kind]}${q ? `?${q}` : ''}`);
    return data[plural] ?? [];
  }

  private async update<T>(kind: Kind, id: string, body: object): Promise<T> {
    const { data } = await this.http.put<Record<string, T>>(`/v2.0/${PATH[kind]}/${encodeURIComponent(id)}`, {
      [kind]: body,
    });
    return data[kind] as T;
  }

  /** Deletes; false when it was already gone. A 409 (still in use) is thrown. */
  private async remove(kind: Kind, id: string): Promise<boolean> {
    try {
      await this.http.delete(`/v2.0/${PATH[kind]}/${encodeURIComponent(id)}`);
      return true;
    } catch (e) {
      if (isNeutronNotFound(e)) return false;
      throw e;
    }
  }
}
