// Unit-test plumbing: an axios adapter driven by a sinon stub, and a tiny
// in-memory Keystone built on it. Not part of the package (excluded from the
// build); real Keystone behaviour is covered by test/integration/keystone*.

import {
  AxiosError,
  AxiosHeaders,
  type AxiosAdapter,
  type AxiosResponse,
  type InternalAxiosRequestConfig,
} from 'axios';
import sinon from 'sinon';
import type { KeystoneTokenBody } from '../access';

export interface FakeRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

export interface FakeReply {
  status: number;
  data?: unknown;
  headers?: Record<string, string>;
}

export type FakeHandler = (req: FakeRequest) => FakeReply | 'refuse' | Promise<FakeReply | 'refuse'>;

function fullUrl(config: InternalAxiosRequestConfig): string {
  const url = config.url ?? '';
  if (/^https?:\/\//.test(url) || !config.baseURL) return url;
  return `${config.baseURL.replace(/\/+$/, '')}/${url.replace(/^\/+/, '')}`;
}

/** An adapter that answers from `handler`, rejecting non-2xx like axios' own adapters. */
export function fakeAdapter(
  handler: FakeHandler,
): sinon.SinonStub<[InternalAxiosRequestConfig], Promise<AxiosResponse>> & AxiosAdapter {
  const stub = sinon.stub<[InternalAxiosRequestConfig], Promise<AxiosResponse>>();
  stub.callsFake(async (config) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(AxiosHeaders.from(config.headers).toJSON())) {
      if (v !== undefined && v !== null) headers[k.toLowerCase()] = String(v);
    }
    let body: unknown = config.data;
    if (typeof body === 'string' && body) {
      try {
        body = JSON.parse(body);
      } catch {
        /* keep text */
      }
    }
    const req: FakeRequest = {
      method: (config.method ?? 'get').toUpperCase(),
      url: fullUrl(config),
      headers,
      body,
    };
    const reply = await handler(req);
    if (reply === 'refuse') {
      throw new AxiosError('connect ECONNREFUSED 127.0.0.1:5000', 'ECONNREFUSED', config, {});
    }
    const isText = typeof reply.data === 'string';
    const response: AxiosResponse = {
      status: reply.status,
      statusText: '',
      headers: new AxiosHeaders({
        'content-type': isText ? 'text/html' : 'application/json',
        ...(reply.headers ?? {}),
      }),
      config,
      data: reply.data === undefined ? '' : isText ? reply.data : JSON.stringify(reply.data),
      request: {},
    };
    const validate = config.validateStatus;
    if (!validate || validate(reply.status)) return response;
    throw new AxiosError(
      `Request failed with status code ${reply.status}`,
      reply.status >= 500 ? AxiosError.ERR_BAD_RESPONSE : AxiosError.ERR_BAD_REQUEST,
      config,
      {},
      response,
    );
  });
  return stub as never;
}

export interface TokenSpec {
  lifetimeMs?: number;
  issuedAt?: number;
  userId?: string;
  projectId?: string;
  domainId?: string;
  roles?: string[];
  catalog?: KeystoneTokenBody['token']['catalog'];
  extra?: Partial<KeystoneTokenBody['token']>;
}

export const SAMPLE_CATALOG: NonNullable<KeystoneTokenBody['token']['catalog']> = [
  {
    type: 'compute',
    name: 'nova',
    endpoints: [
      { interface: 'public', region_id: 'RegionOne', region: 'RegionOne', url: 'http://nova.example/v2.1/' },
      {
        interface: 'internal',
        region_id: 'RegionOne',
        region: 'RegionOne',
        url: 'http://nova.internal/v2.1',
      },
      { interface: 'public', region_id: 'RegionTwo', region: 'RegionTwo', url: 'http://nova.two/v2.1' },
    ],
  },
  {
    type: 'image',
    name: 'glance',
    endpoints: [{ interface: 'public', region_id: 'RegionOne', url: 'http://glance.example' }],
  },
];

export function tokenBody(spec: TokenSpec = {}, now = Date.now()): KeystoneTokenBody {
  const issued = spec.issuedAt ?? now;
  const lifetime = spec.lifetimeMs ?? 3_600_000;
  return {
    token: {
      methods: ['password'],
      issued_at: new Date(issued).toISOString().replace('Z', '000Z'),
      expires_at: new Date(issued + lifetime).toISOString().replace('Z', '000Z'),
      audit_ids: ['audit-1'],
      user: { id: spec.userId ?? 'u1', name: 'alice', domain: { id: 'default', name: 'Default' } },
      ...(spec.domainId
        ? { domain: { id: spec.domainId, name: 'D' } }
        : {
            project: { id: spec.projectId ?? 'p1', name: 'proj', domain: { id: 'default', name: 'Default' } },
          }),
      roles: (spec.roles ?? ['member']).map((name, i) => ({ id: `r${i}`, name })),
      ...(spec.catalog === undefined ? { catalog: SAMPLE_CATALOG } : { catalog: spec.catalog }),
      ...(spec.extra ?? {}),
    },
  };
}
