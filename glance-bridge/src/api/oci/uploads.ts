// end-4a/4b/5/6/11/13: blob upload sessions, single-POST uploads and
// cross-repository mounts. Locations are relative and carry the repository
// name as the client wrote it.

import { ociError } from '../../core/errors';
import { parseRepositoryName } from '../../core/names';
import type { ChunkInput, ChunkRange } from '../../core/uploads';
import { bodyOf, contentLength, type OciContext, query } from './context';

const sessionUrl = (c: OciContext, id: string) => `/v2/${c.name.full}/blobs/uploads/${id}`;
const blobUrl = (c: OciContext, digest: string) => `/v2/${c.name.full}/blobs/${digest}`;
const rangeHeader = (size: number) => `0-${size > 0 ? size - 1 : 0}`;

/** `Content-Range: <start>-<end>` as the spec writes it (a `bytes ` prefix and `/total` suffix are tolerated). */
export function parseContentRange(h: string | undefined): ChunkRange | undefined {
  if (h === undefined) return undefined;
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(h.trim());
  if (!m) {
    throw ociError(
      'BLOB_UPLOAD_INVALID',
      `malformed Content-Range: ${h.slice(0, 100)}`,
      { expected: '<start>-<end>' },
      416,
    );
  }
  return { start: Number(m[1]), end: Number(m[2]) };
}

function chunkOf(c: OciContext): ChunkInput | undefined {
  const body = bodyOf(c.request);
  const range = parseContentRange(c.request.headers['content-range']);
  if (!body && !range) return undefined;
  const chunk: ChunkInput = { body: body ?? emptyBody() };
  if (range) chunk.range = range;
  const len = contentLength(c.request);
  if (len !== undefined) chunk.contentLength = len;
  return chunk;
}

async function* emptyBody(): AsyncIterable<Buffer> {
  /* no bytes */
}

function accepted(c: OciContext, id: string, size: number) {
  return c.reply
    .code(202)
    .header('Location', sessionUrl(c, id))
    .header('Range', rangeHeader(size))
    .header('Docker-Upload-UUID', id)
    .header('Content-Length', '0')
    .send();
}

function created(c: OciContext, digest: string) {
  return c.reply
    .code(201)
    .header('Location', blobUrl(c, digest))
    .header('Docker-Content-Digest', digest)
    .header('Content-Length', '0')
    .send();
}

/** POST /blobs/uploads/: a session (202), a whole blob with ?digest= (201), or a mount (201, else 202). */
export async function startUpload(c: OciContext) {
  const ref = await c.authz.repository(c.request, c.name, 'push');
  const q = query(c.request);
  const repo = await c.registry.repositoryForPush(ref);
  if (q.mount) {
    let from;
    if (q.from) {
      // mounting needs pull on the source; a source the caller cannot see is no source
      try {
        const fromRef = await c.authz.repository(c.request, parseRepositoryName(q.from), 'pull');
        from = await c.registry.db.getRepository(fromRef.projectId, fromRef.name);
      } catch {
        from = undefined;
      }
    }
    const blob = q.from && !from ? undefined : await c.registry.mount(repo, q.mount, from);
    if (blob) return created(c, blob.digest);
  }
  if (q.digest) {
    const session = await c.registry.uploads.start(repo);
    try {
      const blob = await c.registry.uploads.complete(
        repo,
        session.id,
        q.digest,
        chunkOf(c) ?? { body: emptyBody() },
      );
      return created(c, blob.digest);
    } catch (e) {
      // a single POST has no session the client knows of: never leave one behind
      await c.registry.uploads.cancel(repo, session.id).catch(() => undefined);
      throw e;
    }
  }
  const session = await c.registry.uploads.start(repo);
  return accepted(c, session.id, 0);
}

export async function uploadStatus(c: OciContext) {
  const repo = await c.registry.repository(await c.authz.repository(c.request, c.name, 'push'));
  const s = await c.registry.uploads.status(repo, c.arg);
  return c.reply
    .code(204)
    .header('Location', sessionUrl(c, s.id))
    .header('Range', rangeHeader(s.size))
    .header('Docker-Upload-UUID', s.id)
    .send();
}

export async function patchUpload(c: OciContext) {
  const repo = await c.registry.repository(await c.authz.repository(c.request, c.name, 'push'));
  const chunk = chunkOf(c) ?? { body: emptyBody() };
  const { size } = await c.registry.uploads.append(repo, c.arg, chunk);
  return accepted(c, c.arg, size);
}

export async function putUpload(c: OciContext) {
  const repo = await c.registry.repository(await c.authz.repository(c.request, c.name, 'push'));
  const blob = await c.registry.uploads.complete(repo, c.arg, query(c.request).digest, chunkOf(c));
  return created(c, blob.digest);
}

export async function cancelUpload(c: OciContext) {
  const repo = await c.registry.repository(await c.authz.repository(c.request, c.name, 'push'));
  await c.registry.uploads.cancel(repo, c.arg);
  return c.reply.code(204).header('Docker-Upload-UUID', c.arg).send();
}
