// end-2 and end-10: blobs by digest. Reads stream from the store (Glance)
// with the client's byte range passed through; HEAD answers from SQL.

import type { Readable } from 'node:stream';

import { pumpFile } from '@berth/openstack-clients';

import { ociError } from '../../core/errors';
import type { ByteRange, FileSource } from '../../storage/driver';
import type { OciContext } from './context';

/** RFC 9110 single byte ranges; several ranges are answered with the whole blob (allowed). */
export function parseRange(
  header: string | undefined,
  size: number,
): ByteRange | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return undefined;
  const [, a, b] = m as unknown as [string, string, string];
  if (a === '' && b === '') return undefined;
  if (a === '') {
    const n = Number(b);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

export async function headBlob(c: OciContext) {
  const blob = await c.registry.statBlob(await c.authz.repository(c.request, c.name, 'pull'), c.arg);
  c.reply
    .code(200)
    .header('Content-Length', String(blob.size))
    .header('Content-Type', 'application/octet-stream')
    .header('Docker-Content-Digest', blob.digest)
    .header('Accept-Ranges', 'bytes')
    .header('ETag', `"${blob.digest}"`);
  return c.reply.send();
}

export async function getBlob(c: OciContext) {
  const blob = await c.registry.statBlob(await c.authz.repository(c.request, c.name, 'pull'), c.arg);
  const range = parseRange(c.request.headers.range, blob.size);
  if (range === 'unsatisfiable') {
    const e = ociError('BLOB_UNKNOWN', 'requested range not satisfiable', { size: blob.size }, 416);
    e.headers['Content-Range'] = `bytes */${blob.size}`;
    throw e;
  }
  const reader = await c.registry.openBlob(blob, range);
  c.reply
    .header('Content-Type', 'application/octet-stream')
    .header('Docker-Content-Digest', blob.digest)
    .header('Accept-Ranges', 'bytes')
    .header('ETag', `"${blob.digest}"`)
    .header('Cache-Control', 'max-age=31536000')
    .header('Content-Length', String(reader.length));
  if (range) c.reply.code(206).header('Content-Range', `bytes ${range.start}-${range.end}/${blob.size}`);
  else c.reply.code(200);
  if (reader.file) return sendFile(c, reader.file);
  const body = reader.body as Readable;
  // the client hanging up must stop the Glance download too
  c.reply.raw.once('close', () => {
    if (!c.reply.raw.writableFinished) body.destroy();
  });
  return c.reply.send(body);
}

/**
 * A local file (the blob cache, a staging file) straight to the socket with
 * two reused buffers: no per-chunk garbage, which on a busy host is most of
 * what serving a blob costs.
 */
async function sendFile(c: OciContext, file: FileSource) {
  const res = c.reply.raw;
  c.reply.hijack();
  res.writeHead(c.reply.statusCode, c.reply.getHeaders() as Record<string, string>);
  try {
    await pumpFile(res, file.path, {
      ...(file.start !== undefined ? { start: file.start } : {}),
      ...(file.end !== undefined ? { end: file.end } : {}),
      stop: () => res.destroyed,
    });
    res.end();
  } catch (e) {
    c.request.log.warn({ err: String(e) }, 'blob transfer interrupted');
    res.destroy();
  }
  // fastify still writes the access log line and the metrics when the response ends
}

export async function deleteBlob(c: OciContext) {
  await c.registry.deleteBlob(await c.authz.repository(c.request, c.name, 'delete'), c.arg);
  return c.reply.code(202).header('Content-Length', '0').send();
}
