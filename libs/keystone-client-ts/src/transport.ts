// The axios plumbing shared by the session (talking to Keystone) and the
// HTTP client factory (talking to every other service): one place that sets
// the common headers and turns axios failures into our typed errors.

import { randomUUID } from 'node:crypto';
import axios, { type AxiosAdapter, type AxiosInstance, type AxiosResponse } from 'axios';
import { OpenStackConnectionError, OpenStackError, OpenStackHttpError, parseOpenStackError } from './errors';

/** Bumped with package.json; not read from it because it lies outside rootDir. */
export const VERSION = '0.1.0';
export const DEFAULT_USER_AGENT = `berth-keystone-client-ts/${VERSION}`;

export interface TransportOptions {
  timeoutMs?: number | undefined;
  userAgent?: string | undefined;
  /** Replaces axios' network layer: used by unit tests and exotic proxies. */
  adapter?: AxiosAdapter | undefined;
}

export function createAxios(options: TransportOptions): AxiosInstance {
  return axios.create({
    timeout: options.timeoutMs ?? 30_000,
    headers: { 'User-Agent': options.userAgent ?? DEFAULT_USER_AGENT, Accept: 'application/json' },
    // Errors are mapped by us; a 3xx/4xx/5xx must not be followed or hidden.
    maxRedirects: 0,
    ...(options.adapter ? { adapter: options.adapter } : {}),
  });
}

/** The request-id format oslo.middleware accepts as a global request id. */
export function newRequestId(): string {
  return `req-${randomUUID()}`;
}

function header(res: AxiosResponse | undefined, name: string): string | undefined {
  const v: unknown = res?.headers?.[name];
  return typeof v === 'string' ? v : undefined;
}

/** Strips the query string: it can carry secrets (signed URLs, temp keys). */
function safeUrl(url: string | undefined, baseURL: string | undefined): string | undefined {
  if (!url && !baseURL) return undefined;
  let full = url ?? '';
  if (baseURL && !/^[a-z][a-z0-9+.-]*:\/\//i.test(full)) {
    full = `${baseURL.replace(/\/+$/, '')}/${full.replace(/^\/+/, '')}`;
  }
  return full.split('?')[0];
}

/**
 * Converts whatever axios threw into OpenStackHttpError (got an answer) or
 * OpenStackConnectionError (got none). Our own errors pass through.
 */
export function toOpenStackError(err: unknown): unknown {
  if (err instanceof OpenStackError) return err;
  if (!axios.isAxiosError(err)) return err;
  const method = err.config?.method?.toUpperCase();
  const url = safeUrl(err.config?.url, err.config?.baseURL);
  const res = err.response;
  // The axios error is not kept as `cause`: its config carries X-Auth-Token,
  // and error serialisers (pino's among them) print causes.
  if (!res) {
    return new OpenStackConnectionError(`${method ?? 'request'} ${url ?? ''} failed: ${err.message}`.trim(), {
      code: err.code,
      method,
      url,
    });
  }
  const parsed = parseOpenStackError(res.data);
  const statusLine = `${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
  return new OpenStackHttpError({
    status: res.status,
    message: parsed?.message ?? `HTTP ${statusLine}`,
    code: parsed?.code,
    title: parsed?.title,
    detail: parsed?.detail,
    method,
    url,
    requestId: header(res, 'x-openstack-request-id') ?? header(res, 'x-compute-request-id'),
    body: res.data,
  });
}
