// Magnum's microversions (magnum/api/controllers/versions.py): the request
// header `OpenStack-API-Version: container-infra X.Y` (or `latest`), 1.1 when
// absent, 406 outside the supported range. Every /v1 answer says which
// version it served.

import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '@berth/service-kit';

import { MicroversionError } from './errors';

export const MIN_VERSION = '1.1';
export const MAX_VERSION = '1.10';
const HEADER = 'openstack-api-version';
/** Zed accepts container-infra; Magnum 22 also the two longer service words. */
const SERVICE_WORDS = new Set([
  'container-infra',
  'container-infrastructure-management',
  'container-infrastructure',
]);

export interface Version {
  major: number;
  minor: number;
}

export function parseVersion(s: string): Version {
  const [a, b] = s.split('.');
  return { major: Number(a), minor: Number(b) };
}

export function compareVersions(a: Version, b: Version): number {
  return a.major !== b.major ? a.major - b.major : a.minor - b.minor;
}

export const versionString = (v: Version) => `${v.major}.${v.minor}`;

const MIN = parseVersion(MIN_VERSION);
const MAX = parseVersion(MAX_VERSION);

declare module 'fastify' {
  interface FastifyRequest {
    /** the microversion this request is served at */
    apiVersion?: Version;
  }
}

function baseHeaders(): Record<string, string> {
  return {
    'OpenStack-API-Minimum-Version': `container-infra ${MIN_VERSION}`,
    'OpenStack-API-Maximum-Version': `container-infra ${MAX_VERSION}`,
    Vary: 'OpenStack-API-Version',
  };
}

/** The requested version, or an ApiError (406) carrying the version headers. */
export function negotiate(raw: string | string[] | undefined): Version {
  const value = (Array.isArray(raw) ? raw[0] : raw)?.trim() || `container-infra ${MIN_VERSION}`;
  const words = value.split(/\s+/);
  const headers = baseHeaders();
  if (words.length !== 2 || !SERVICE_WORDS.has(words[0]!.toLowerCase())) {
    throw new ApiError(
      406,
      'NotAcceptable',
      'Invalid service type for OpenStack-API-Version header',
      undefined,
      headers,
    );
  }
  const v = words[1]!.toLowerCase() === 'latest' ? MAX : parseVersionStrict(words[1]!);
  if (!v)
    throw new ApiError(
      406,
      'NotAcceptable',
      'Invalid value for OpenStack-API-Version header',
      undefined,
      headers,
    );
  headers['OpenStack-API-Version'] = `container-infra ${versionString(v)}`;
  const range = `[container-infra ${MIN_VERSION}, container-infra ${MAX_VERSION}]`;
  if (v.major !== 1) {
    throw new MicroversionError(
      `Mutually exclusive versions requested. Version ${versionString(v)} requested but not supported by this service.The supported version range is: ${range}.`,
      MIN_VERSION,
      MAX_VERSION,
      headers,
    );
  }
  if (compareVersions(v, MIN) < 0 || compareVersions(v, MAX) > 0) {
    throw new MicroversionError(
      `Version ${versionString(v)} was requested but the minor version is not supported by this service. The supported version range is: ${range}.`,
      MIN_VERSION,
      MAX_VERSION,
      headers,
    );
  }
  return v;
}

function parseVersionStrict(s: string): Version | undefined {
  const m = /^(\d+)\.(\d+)$/.exec(s);
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
}

/** onRequest hook for /v1: negotiates and sets the version headers (on errors too). */
export async function microversionHook(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const v = negotiate(request.headers[HEADER]);
  request.apiVersion = v;
  for (const [k, val] of Object.entries(baseHeaders())) reply.header(k, val);
  reply.header('OpenStack-API-Version', `container-infra ${versionString(v)}`);
}

export function versionOf(request: FastifyRequest): Version {
  return request.apiVersion ?? MIN;
}

export function atLeast(request: FastifyRequest, v: string): boolean {
  return compareVersions(versionOf(request), parseVersion(v)) >= 0;
}

/** 406 for an API that exists only from (or until) some version, worded as Magnum's. */
export function requireVersion(request: FastifyRequest, api: string, min: string, max = MAX_VERSION): void {
  const v = versionOf(request);
  if (compareVersions(v, parseVersion(min)) < 0 || compareVersions(v, parseVersion(max)) > 0) {
    throw new ApiError(
      406,
      'NotAcceptable',
      `Version ${versionString(v)} was requested but the requested API ${api} is not supported for this version.`,
    );
  }
}
