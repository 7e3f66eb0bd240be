// end-3, end-7, end-9: manifests by tag or digest. Pulls are served from
// the SQL copy of the exact pushed bytes; pushes are read whole (up to the
// manifest limit, 413 above) and validated before anything is stored.

import { ApiError } from '@berth/service-kit';

import type { OciContext } from './context';

async function readManifestBody(c: OciContext): Promise<Buffer> {
  const limit = c.maxManifestBytes;
  const tooLarge = () =>
    new ApiError(
      413,
      'MANIFEST_INVALID',
      `manifest larger than ${limit} bytes`,
      { limit },
      { Connection: 'close' },
    );
  const declared = c.request.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let total = 0;
  const body = (c.request.body ?? c.request.raw) as AsyncIterable<Buffer>;
  if (declared === '0') return Buffer.alloc(0);
  for await (const chunk of body) {
    total += chunk.length;
    if (total > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function manifestHeaders(c: OciContext, digest: string, mediaType: string, size: number) {
  return c.reply
    .header('Content-Type', mediaType)
    .header('Docker-Content-Digest', digest)
    .header('ETag', `"${digest}"`)
    .header('Content-Length', String(size));
}

export async function headManifest(c: OciContext) {
  const ref = await c.authz.repository(c.request, c.name, 'pull');
  const m = await c.registry.getManifest(ref, c.arg, c.request.headers.accept);
  manifestHeaders(c, m.row.digest, m.row.mediaType, m.content.length).code(200);
  return c.reply.send();
}

export async function getManifest(c: OciContext) {
  const ref = await c.authz.repository(c.request, c.name, 'pull');
  const m = await c.registry.getManifest(ref, c.arg, c.request.headers.accept);
  manifestHeaders(c, m.row.digest, m.row.mediaType, m.content.length).code(200);
  return c.reply.send(m.content);
}

export async function putManifest(c: OciContext) {
  const ref = await c.authz.repository(c.request, c.name, 'push');
  const body = await readManifestBody(c);
  const r = await c.registry.putManifest(ref, c.arg, body, c.request.headers['content-type']);
  c.reply
    .code(201)
    .header('Location', `/v2/${c.name.full}/manifests/${r.digest}`)
    .header('Docker-Content-Digest', r.digest)
    .header('Content-Length', '0');
  if (r.subject) c.reply.header('OCI-Subject', r.subject);
  return c.reply.send();
}

export async function deleteManifest(c: OciContext) {
  const ref = await c.authz.repository(c.request, c.name, 'delete');
  await c.registry.deleteManifest(ref, c.arg);
  return c.reply.code(202).header('Content-Length', '0').send();
}
