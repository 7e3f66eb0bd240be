// Route a request to an endpoint method, like oslo rpc/dispatcher.py: the
// namespace must match exactly (a missing namespace only matches endpoints
// without one), the version must be compatible (same major, requested minor
// <= the endpoint's), private names (leading `_`) are never dispatched.
// Among compatible endpoints the first with the method wins; if some endpoint
// was compatible but none had the method -> NoSuchMethod, if none was
// compatible -> UnsupportedVersion.
import { NoSuchMethod, UnsupportedVersion } from './errors';
import { versionIsCompatible, type Context } from './wire';

/** Extra facts about the request a handler may want (logging, idempotency). */
export interface RequestInfo {
  method: string;
  namespace: string | null;
  version: string;
  /** null for a cast */
  msgId: string | null;
  uniqueId: string | null;
  /** the caller's call-monitor timeout (seconds), if any */
  clientTimeout: number | null;
}

export type RpcHandler = (context: Context, args: Record<string, unknown>, info: RequestInfo) => unknown;

export interface Endpoint {
  /** oslo Target.namespace; undefined/null = the default namespace. */
  namespace?: string | null;
  /** Namespaces this endpoint also answers (Target legacy_namespaces). */
  legacyNamespaces?: string[];
  /** oslo Target.version; default '1.0'. */
  version?: string;
  methods: Record<string, RpcHandler>;
}

export interface DispatchRequest {
  method: string;
  namespace: string | null;
  version: string;
}

export class Dispatcher {
  constructor(private readonly endpoints: readonly Endpoint[]) {
    for (const ep of endpoints) {
      // a bad endpoint version would otherwise surface only when a message arrives
      versionIsCompatible(ep.version ?? '1.0', '1.0');
    }
  }

  /** The handler for a request, or a NoSuchMethod/UnsupportedVersion to send back. */
  resolve(req: DispatchRequest): RpcHandler {
    let foundCompatible = false;
    for (const ep of this.endpoints) {
      const accepted = [ep.namespace ?? null, ...(ep.legacyNamespaces ?? [])];
      if (!accepted.includes(req.namespace)) continue;
      let compatible: boolean;
      try {
        compatible = versionIsCompatible(ep.version ?? '1.0', req.version);
      } catch {
        compatible = false; // an unparseable requested version matches nothing
      }
      if (!compatible) continue;
      if (!req.method.startsWith('_') && Object.prototype.hasOwnProperty.call(ep.methods, req.method)) {
        const handler = ep.methods[req.method];
        if (typeof handler === 'function') return handler;
      }
      foundCompatible = true;
    }
    if (foundCompatible) throw new NoSuchMethod(req.method);
    throw new UnsupportedVersion(req.version, req.method);
  }
}
