// Factory for axios instances that talk to an OpenStack service as the
// session's identity: token injected, base URL from the catalog, one retry
// after re-authentication on 401, request id and User-Agent set, and every
// failure turned into OpenStackHttpError / OpenStackConnectionError.

import axios, { type AxiosAdapter, type AxiosInstance, type InternalAxiosRequestConfig } from 'axios';
import type { EndpointFilter } from './catalog';
import { ConfigurationError } from './errors';
import type { KeystoneSession } from './session';
import { createAxios, newRequestId, toOpenStackError } from './transport';

export interface HttpClientOptions {
  /** Where the service is in the catalog, e.g. `{ type: 'image' }`; interface/region default to the session's. */
  service?: EndpointFilter;
  /** Fixed base URL; wins over `service` and the session's overrides. */
  endpointOverride?: string;
  /** Defaults to the session's User-Agent. */
  userAgent?: string;
  /** Per-request timeout (default: the session's, else 30 s). */
  timeoutMs?: number;
  /**
   * Supplies X-OpenStack-Request-ID, e.g. the id of the inbound request being
   * served, so one id follows a user action across services. A fresh
   * `req-<uuid>` is used when it returns undefined. A header set on the
   * request itself wins.
   */
  requestId?: () => string | undefined;
  /** Extra default headers (e.g. `OpenStack-API-Version: compute 2.79`). */
  headers?: Record<string, string>;
  /** Replaces the network layer (unit tests). */
  adapter?: AxiosAdapter;
}

// Kept on the request config (axios copies unknown string keys when a config
// is re-sent) to know which token a request used and whether it was retried.
const STATE = '__keystoneClientTs';
interface RequestState {
  token?: string;
  retried?: boolean;
}
type TaggedConfig = InternalAxiosRequestConfig & { [STATE]?: RequestState };

function isAbsolute(url: string | undefined): boolean {
  return !!url && /^[a-z][a-z0-9+.-]*:\/\//i.test(url);
}

export function createHttpClient(session: KeystoneSession, options: HttpClientOptions = {}): AxiosInstance {
  const instance = createAxios({
    timeoutMs: options.timeoutMs ?? session.timeoutMs,
    userAgent: options.userAgent ?? session.userAgent,
    adapter: options.adapter,
  });
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    instance.defaults.headers.common[name] = value;
  }
  const endpointOverride = options.endpointOverride?.replace(/\/+$/, '');

  instance.interceptors.request.use(async (config: TaggedConfig) => {
    const token = await session.getToken();
    config.headers.set('X-Auth-Token', token);
    config[STATE] = { ...config[STATE], token };
    if (!config.baseURL && !isAbsolute(config.url)) {
      if (endpointOverride) config.baseURL = endpointOverride;
      else if (options.service) config.baseURL = await session.getEndpoint(options.service);
      else
        throw new ConfigurationError('relative URL but the client has neither service nor endpointOverride');
    }
    if (!config.headers.has('X-OpenStack-Request-ID')) {
      config.headers.set('X-OpenStack-Request-ID', options.requestId?.() ?? newRequestId());
    }
    return config;
  });

  instance.interceptors.response.use(undefined, async (err: unknown) => {
    if (axios.isAxiosError(err) && err.response?.status === 401 && err.config) {
      const config = err.config as TaggedConfig;
      const state = config[STATE];
      // Once only: a second 401 with a brand-new token is a real refusal.
      if (state?.token && !state.retried) {
        session.invalidate(state.token);
        config[STATE] = { retried: true };
        return instance.request(config);
      }
    }
    throw toOpenStackError(err);
  });

  return instance;
}
