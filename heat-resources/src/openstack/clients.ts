// The OpenStack clients a request uses, all acting as its caller: the token
// the caller sent, used as is (keystone-client-ts PresentedTokenAuth). It is
// never exchanged for a new one — Keystone refuses to exchange the
// trust-scoped tokens Heat calls with when it acts on a stored stack — so
// quotas, scoping and policy stay the user's. Endpoints come from the
// service's own catalog (the same catalog in practice), resolved once and
// refreshed every few minutes. Built per request: the clients are thin.

import { GlanceClient, NeutronClient, NovaClient } from '@berth/openstack-clients';
import {
  EndpointNotFoundError,
  type HttpClientOptions,
  KeystoneSession,
  PresentedTokenAuth,
  type RequestContext,
} from 'keystone-client-ts';

/**
 * 2.61: flavors carry extra_specs (flavor selection skips flavors with
 * Berth admin grants); 2.57: rebuild takes new user data; 2.47: servers
 * embed their flavor (the flavor attribute).
 */
export const COMPUTE_MICROVERSION = '2.61';

export type Interface = 'public' | 'internal' | 'admin';

export interface CallerClients {
  nova: NovaClient;
  neutron: NeutronClient;
  glance: GlanceClient;
}

export interface ClientSettings {
  computeInterface: Interface;
  networkInterface: Interface;
  imageInterface: Interface;
  region?: string;
  timeoutMs?: number;
  /** how long resolved endpoints are kept (default 5 minutes) */
  endpointTtlMs?: number;
  /** replaces the network layer (unit tests) */
  adapter?: HttpClientOptions['adapter'];
}

export type ClientFactory = (caller: RequestContext, requestId?: string) => Promise<CallerClients>;

/** an endpoint, or why the catalog has none (a cloud without Neutron still runs containers without networks) */
type Endpoint = string | EndpointNotFoundError;

interface Endpoints {
  compute: Endpoint;
  network: Endpoint;
  image: Endpoint;
}

/** A client whose every call fails with the catalog's reason. */
function unavailable<T extends object>(reason: EndpointNotFoundError): T {
  return new Proxy({} as T, { get: () => () => Promise.reject(reason) });
}

function client<T extends object>(endpoint: Endpoint, make: (url: string) => T): T {
  return typeof endpoint === 'string' ? make(endpoint) : unavailable<T>(endpoint);
}

export function callerClients(
  service: KeystoneSession,
  s: ClientSettings,
  now: () => number = Date.now,
): ClientFactory {
  let cached: { until: number; value: Promise<Endpoints> } | undefined;
  const endpoints = (): Promise<Endpoints> => {
    if (cached && cached.until > now()) return cached.value;
    const at = (type: string, itf: Interface): Promise<Endpoint> =>
      service
        .getEndpoint({ type, interface: itf, ...(s.region ? { region: s.region } : {}) })
        .catch((e: unknown) => {
          if (e instanceof EndpointNotFoundError) return e;
          throw e;
        });
    const value = Promise.all([
      at('compute', s.computeInterface),
      at('network', s.networkInterface),
      at('image', s.imageInterface),
    ]).then(([compute, network, image]) => ({ compute, network, image }));
    cached = { until: now() + (s.endpointTtlMs ?? 300_000), value };
    // a failed lookup (Keystone down) is not kept
    value.catch(() => (cached = undefined));
    return value;
  };
  return async (caller, requestId) => {
    const e = await endpoints();
    const session = new KeystoneSession({
      authUrl: service.authUrl,
      auth: new PresentedTokenAuth({ token: caller.token, expiresAt: caller.expiresAt }),
      userAgent: 'berth-heat-resources',
      ...(s.adapter ? { adapter: s.adapter } : {}),
      ...(s.timeoutMs ? { timeoutMs: s.timeoutMs } : {}),
    });
    const common = {
      ...(requestId ? { requestId: () => requestId } : {}),
      ...(s.adapter ? { adapter: s.adapter } : {}),
    };
    return {
      nova: client(
        e.compute,
        (url) =>
          new NovaClient(session, { ...common, endpointOverride: url, microversion: COMPUTE_MICROVERSION }),
      ),
      neutron: client(e.network, (url) => new NeutronClient(session, { ...common, endpointOverride: url })),
      glance: client(e.image, (url) => new GlanceClient(session, { ...common, endpointOverride: url })),
    };
  };
}
