// end-8 (tags), end-12 (referrers), /v2/ and /v2/_catalog.

import { ociError } from '../../core/errors';
import { MediaTypes } from '../../core/manifest';
import type { OciContext } from './context';
import { query } from './context';

function pageSize(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw))
    throw ociError(
      'UNSUPPORTED',
      `n must be a non-negative integer, got "${raw.slice(0, 50)}"`,
      { n: raw.slice(0, 50) },
      400,
    );
  return Number(raw);
}

function nextLink(path: string, n: number | undefined, last: string) {
  return `<${path}?${n !== undefined ? `n=${n}&` : ''}last=${encodeURIComponent(last)}>; rel="next"`;
}

export async function listTags(c: OciContext) {
  const ref = await c.authz.repository(c.request, c.name, 'pull');
  const q = query(c.request);
  const n = pageSize(q.n);
  const page = await c.registry.tags(ref, n, q.last);
  if (page.next !== undefined) c.reply.header('Link', nextLink(`/v2/${c.name.full}/tags/list`, n, page.next));
  return c.reply.code(200).type('application/json').send({ name: c.name.full, tags: page.tags });
}

export async function listReferrers(c: OciContext) {
  const ref = await c.authz.repository(c.request, c.name, 'pull');
  const artifactType = query(c.request).artifactType || undefined;
  const manifests = await c.registry.referrers(ref, c.arg, artifactType);
  if (artifactType) c.reply.header('OCI-Filters-Applied', 'artifactType');
  // a Buffer, so fastify adds no charset: the spec wants exactly this Content-Type
  return c.reply
    .code(200)
    .header('Content-Type', MediaTypes.ociIndex)
    .send(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests })));
}

export async function apiBase(c: Omit<OciContext, 'name' | 'arg'>) {
  c.authz.base(c.request);
  return c.reply.code(200).type('application/json').send('{}');
}

export async function catalog(c: Omit<OciContext, 'name' | 'arg'>) {
  const projects = c.authz.catalog(c.request);
  const q = query(c.request);
  const n = pageSize(q.n);
  const page = await c.registry.catalog(projects, n, q.last);
  if (page.next !== undefined) c.reply.header('Link', nextLink('/v2/_catalog', n, page.next));
  return c.reply.code(200).type('application/json').send({ repositories: page.tags });
}
