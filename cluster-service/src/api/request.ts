// Per-request helpers: who is calling (and what they may see), the base URL
// for links, and Magnum's list parameters (marker, limit, sort_key, sort_dir).

import type { FastifyRequest } from 'fastify';
import { callerOf } from '@berth/service-kit';
import type { RequestContext } from 'keystone-client-ts';

import type { Page } from '../db/paging';
import type { Scope } from '../db/util';
import { invalid, invalidInput } from './errors';

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** oslo's uuidutils.is_uuid_like: how Magnum decides between "by uuid" and "by name". */
export const isUuidLike = (s: string) => UUID.test(s);

export function caller(request: FastifyRequest): RequestContext {
  return callerOf(request);
}

export function scopeOf(ctx: RequestContext): Scope {
  return { projectId: ctx.projectId, isAdmin: ctx.isAdmin };
}

/** The URL the client reached us at (pecan's host_url), for links; or [api] public_url when set. */
export function baseUrl(request: FastifyRequest, configured?: string): string {
  if (configured) return configured;
  return `${request.protocol}://${request.headers.host ?? 'localhost'}`;
}

export interface ListQuery {
  marker?: string;
  limit?: string;
  sort_key?: string;
  sort_dir?: string;
}

/** Validates Magnum's list parameters; the marker is returned for the caller to resolve. */
export function parseList(
  q: ListQuery,
  columns: ReadonlySet<string>,
  maxLimit: number,
  markerMustBeUuid = true,
): Omit<Page, 'marker'> & { markerId?: string } {
  let limit = maxLimit;
  if (q.limit !== undefined) {
    if (!/^-?\d+$/.test(q.limit)) throw invalidInput('limit', q.limit, 'Wrong type. Expected an integer.');
    const n = Number(q.limit);
    if (n <= 0) throw invalid('Limit must be positive');
    limit = Math.min(n, maxLimit);
  }
  const sortDir = q.sort_dir ?? 'asc';
  if (sortDir !== 'asc' && sortDir !== 'desc') {
    throw invalid(`Invalid sort direction: ${sortDir}. Acceptable values are 'asc' or 'desc'`);
  }
  const sortKey = q.sort_key ?? 'id';
  if (!columns.has(sortKey)) throw invalid(`The sort_key value "${sortKey}" is an invalid field for sorting`);
  if (q.marker !== undefined && markerMustBeUuid && !isUuidLike(q.marker)) {
    throw invalidInput('marker', q.marker, `Expected a uuid but received ${q.marker}.`);
  }
  return { limit, sortKey, sortDir, ...(q.marker !== undefined ? { markerId: q.marker } : {}) };
}

/** Magnum's `next` link: only after a full page. */
export function nextLink(
  base: string,
  resource: string,
  items: Array<{ uuid?: string; id?: number }>,
  page: { limit: number; sortKey: string; sortDir: string },
  markerOf: (item: { uuid?: string; id?: number }) => string = (i) => String(i.uuid),
): string | undefined {
  const last = items[items.length - 1];
  if (!last || items.length !== page.limit) return undefined;
  return `${base}/v1/${resource}?sort_key=${page.sortKey}&sort_dir=${page.sortDir}&limit=${page.limit}&marker=${markerOf(last)}`;
}
