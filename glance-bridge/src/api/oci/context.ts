// What every /v2 handler gets: the request and reply, the repository name
// it addresses (validated), the registry core and the authoriser.

import type { FastifyReply, FastifyRequest } from 'fastify';

import type { RepositoryName } from '../../core/names';
import type { Registry } from '../../core/registry';
import type { OciAuthorizer } from '../auth/authorize';

export interface OciContext {
  request: FastifyRequest;
  reply: FastifyReply;
  registry: Registry;
  authz: OciAuthorizer;
  /** undefined for /v2/ and /v2/_catalog */
  name: RepositoryName;
  /** digest, session id or reference from the path */
  arg: string;
  maxManifestBytes: number;
}

export type OciHandler = (ctx: OciContext) => Promise<unknown>;

/** The request body as a byte stream, or undefined when there is none. */
export function bodyOf(request: FastifyRequest): AsyncIterable<Buffer> | undefined {
  const len = request.headers['content-length'];
  if (len === '0') return undefined;
  if (len === undefined && request.headers['transfer-encoding'] === undefined) return undefined;
  const body = request.body as AsyncIterable<Buffer> | undefined;
  return body ?? (request.raw as AsyncIterable<Buffer>);
}

/** Content-Length as a number, if sent and well-formed. */
export function contentLength(request: FastifyRequest): number | undefined {
  const v = request.headers['content-length'];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

export function query(request: FastifyRequest): Record<string, string | undefined> {
  const q = request.query as Record<string, string | string[] | undefined>;
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(q)) out[k] = Array.isArray(v) ? v[0] : v;
  return out;
}
