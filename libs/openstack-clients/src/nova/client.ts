// A small typed client for Nova's compute API over a keystone-client-ts
// session: servers (create, show, list, rename, rebuild, simple actions,
// console output, delete), flavors and keypairs. Every
// request carries the pinned microversion, so answers have one shape.

import {
  createHttpClient,
  type HttpClientOptions,
  type KeystoneSession,
  OpenStackHttpError,
} from 'keystone-client-ts';

import type {
  CreatedServer,
  CreateServerRequest,
  Flavor,
  Keypair,
  RebuildServerRequest,
  Server,
  ServerListFilters,
  SimpleServerAction,
} from './types';

/**
 * 2.37: `networks` is required on create ("none"/"auto"); 2.47: flavors are
 * embedded in servers; <= 2.72 everything we use is stable. Zed goes to 2.93.
 */
export const DEFAULT_COMPUTE_MICROVERSION = '2.37';

export interface NovaClientOptions {
  /** `compute X.Y`; default DEFAULT_COMPUTE_MICROVERSION */
  microversion?: string;
  /** catalog interface and region (default: the session's) */
  interface?: 'public' | 'internal' | 'admin';
  region?: string;
  endpointOverride?: string;
  timeoutMs?: number;
  /** X-OpenStack-Request-ID supplier, to follow one user action across services */
  requestId?: () => string | undefined;
  /** replaces the network layer (unit tests) */
  adapter?: HttpClientOptions['adapter'];
}

/** Whether microversion `v` ("2.61") is at least major.minor. */
function atLeast(v: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = v.split('.').map(Number);
  return a > major || (a === major && b >= minor);
}

/** Nova said 404 for the server, flavor or keypair asked for. */
export function isNotFound(e: unknown): boolean {
  return e instanceof OpenStackHttpError && e.status === 404;
}

export class NovaClient {
  readonly microversion: string;
  private readonly http: ReturnType<typeof createHttpClient>;

  constructor(session: KeystoneSession, options: NovaClientOptions = {}) {
    this.microversion = options.microversion ?? DEFAULT_COMPUTE_MICROVERSION;
    const service: HttpClientOptions['service'] = { type: 'compute' };
    if (options.interface) service.interface = options.interface;
    if (options.region) service.region = options.region;
    const httpOptions: HttpClientOptions = {
      service,
      headers: {
        'OpenStack-API-Version': `compute ${this.microversion}`,
        'X-OpenStack-Nova-API-Version': this.microversion,
      },
    };
    if (options.endpointOverride) httpOptions.endpointOverride = options.endpointOverride;
    if (options.timeoutMs) httpOptions.timeoutMs = options.timeoutMs;
    if (options.requestId) httpOptions.requestId = options.requestId;
    if (options.adapter) httpOptions.adapter = options.adapter;
    this.http = createHttpClient(session, httpOptions);
  }

  // ---- servers ----

  async createServer(req: CreateServerRequest): Promise<CreatedServer> {
    const server: Record<string, unknown> = {
      name: req.name,
      imageRef: req.imageRef,
      flavorRef: req.flavorRef,
      networks: req.networks,
    };
    if (req.userData !== undefined) server.user_data = Buffer.from(req.userData, 'utf8').toString('base64');
    if (req.metadata) server.metadata = req.metadata;
    if (req.keyName) server.key_name = req.keyName;
    if (req.securityGroups?.length) server.security_groups = req.securityGroups.map((name) => ({ name }));
    if (req.availabilityZone) server.availability_zone = req.availabilityZone;
    const body: Record<string, unknown> = { server };
    if (req.schedulerHints && Object.keys(req.schedulerHints).length)
      body['os:scheduler_hints'] = req.schedulerHints;
    const { data } = await this.http.post<{ server: CreatedServer }>('/servers', body);
    return data.server;
  }

  /** Renames the server (PUT /servers/{id}); nothing else of it changes. */
  async renameServer(id: string, name: string): Promise<Server> {
    const { data } = await this.http.put<{ server: Server }>(`/servers/${encodeURIComponent(id)}`, {
      server: { name },
    });
    return data.server;
  }

  /**
   * Rebuilds the server in place: same id, ports and addresses, a fresh
   * boot from the image. New user data needs microversion 2.57 or later.
   */
  async rebuildServer(id: string, req: RebuildServerRequest): Promise<void> {
    const rebuild: Record<string, unknown> = { imageRef: req.imageRef };
    if (req.name !== undefined) rebuild.name = req.name;
    if (req.userData !== undefined) {
      if (!atLeast(this.microversion, 2, 57)) {
        throw new Error(
          `rebuilding with new user data needs compute microversion 2.57, the client pins ${this.microversion}`,
        );
      }
      rebuild.user_data = Buffer.from(req.userData, 'utf8').toString('base64');
    }
    await this.http.post(`/servers/${encodeURIComponent(id)}/action`, { rebuild });
  }

  /** An action without arguments: suspend, resume, pause, unpause, os-start, os-stop. */
  async serverAction(id: string, action: SimpleServerAction): Promise<void> {
    await this.http.post(`/servers/${encodeURIComponent(id)}/action`, { [action]: null });
  }

  /**
   * The server's console log (for Berth: the container's output); the last
   * `lines` lines when given. `timeoutMs` bounds this call alone (Nova waits
   * for the compute host, up to its RPC timeout, before it answers).
   */
  async consoleOutput(id: string, lines?: number, options: { timeoutMs?: number } = {}): Promise<string> {
    const { data } = await this.http.post<{ output: string }>(
      `/servers/${encodeURIComponent(id)}/action`,
      { 'os-getConsoleOutput': lines === undefined ? {} : { length: lines } },
      options.timeoutMs ? { timeout: options.timeoutMs } : {},
    );
    return data.output;
  }

  async getServer(id: string): Promise<Server> {
    const { data } = await this.http.get<{ server: Server }>(`/servers/${encodeURIComponent(id)}`);
    return data.server;
  }

  /** The server, or undefined when Nova no longer knows it. */
  async findServer(id: string): Promise<Server | undefined> {
    try {
      return await this.getServer(id);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /** Servers with details; follows Nova's pagination links to the end. */
  async listServers(filters: ServerListFilters = {}): Promise<Server[]> {
    const params: Record<string, string> = {};
    if (filters.name !== undefined) params.name = filters.name;
    if (filters.status) params.status = filters.status;
    if (filters.allTenants) params.all_tenants = '1';
    if (filters.projectId) params.project_id = filters.projectId;
    if (filters.limit) params.limit = String(filters.limit);
    if (filters.marker) params.marker = filters.marker;
    const out: Server[] = [];
    for (;;) {
      const { data } = await this.http.get<{ servers: Server[]; servers_links?: Array<{ rel: string }> }>(
        `/servers/detail?${new URLSearchParams(params).toString()}`,
      );
      out.push(...data.servers);
      const more = data.servers_links?.some((l) => l.rel === 'next');
      const last = data.servers[data.servers.length - 1];
      // a caller's own limit means one page; a marker that does not move ends the walk
      if (!more || !last || filters.limit || last.id === params.marker) return out;
      params.marker = last.id;
    }
  }

  /** Deletes the server; false when it was already gone. */
  async deleteServer(id: string): Promise<boolean> {
    try {
      await this.http.delete(`/servers/${encodeURIComponent(id)}`);
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  // ---- flavors ----

  async getFlavor(id: string): Promise<Flavor> {
    const { data } = await this.http.get<{ flavor: Flavor }>(`/flavors/${encodeURIComponent(id)}`);
    return data.flavor;
  }

  async listFlavors(): Promise<Flavor[]> {
    const { data } = await this.http.get<{ flavors: Flavor[] }>('/flavors/detail?is_public=None');
    return data.flavors;
  }

  /**
   * A flavor by id or by name, as the openstack CLI resolves it: the id
   * first, then an exact name among the flavors the caller can see.
   * Undefined when there is none; an error when a name is ambiguous.
   */
  async resolveFlavor(idOrName: string): Promise<Flavor | undefined> {
    try {
      return await this.getFlavor(idOrName);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    const matches = (await this.listFlavors()).filter((f) => f.name === idOrName);
    if (matches.length > 1) throw new Error(`more than one flavor is named "${idOrName}"`);
    return matches[0];
  }

  // ---- keypairs ----

  async findKeypair(name: string): Promise<Keypair | undefined> {
    try {
      const { data } = await this.http.get<{ keypair: Keypair }>(`/os-keypairs/${encodeURIComponent(name)}`);
      return data.keypair;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }
}
