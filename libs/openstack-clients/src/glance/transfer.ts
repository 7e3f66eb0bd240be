// Image data in and out of Glance as streams, on node:http directly rather
// than axios: bodies of gigabytes must flow with backpressure and never be
// buffered, and an upload's body can only be sent once, so the re-auth retry
// axios' client does on 401 must know whether the body can be re-opened.

import { open } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { Readable, type Writable } from 'node:stream';

import {
  type KeystoneSession,
  newRequestId,
  OpenStackConnectionError,
  OpenStackHttpError,
  parseOpenStackError,
} from 'keystone-client-ts';

/** A file sent as a request body: read into two reused buffers, so gigabytes cost no garbage. */
export interface FileBody {
  path: string;
}

export const isFileBody = (b: unknown): b is FileBody =>
  typeof b === 'object' && b !== null && !Buffer.isBuffer(b) && !(b instanceof Readable) && 'path' in b;

const PUMP_CHUNK = 1 << 20;

/**
 * Writes a file to `dest`, double-buffered: one buffer is read while the
 * other is written, and a buffer is reused only once its write completed.
 * Unlike a read stream, nothing is allocated per chunk, so moving a large
 * file does not feed the garbage collector.
 */
export async function pumpFile(
  dest: Writable,
  path: string,
  o: { start?: number; end?: number; stop?: () => boolean } = {},
): Promise<number> {
  const fh = await open(path, 'r');
  const bufs = [Buffer.allocUnsafeSlow(PUMP_CHUNK), Buffer.allocUnsafeSlow(PUMP_CHUNK)];
  const inFlight: Array<Promise<void> | undefined> = [undefined, undefined];
  let pos = o.start ?? 0;
  const end = o.end === undefined ? Infinity : o.end + 1;
  let sent = 0;
  let i = 0;
  try {
    while (pos < end && !o.stop?.()) {
      await inFlight[i];
      const buf = bufs[i] as Buffer;
      const { bytesRead } = await fh.read(buf, 0, Math.min(PUMP_CHUNK, end - pos), pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      sent += bytesRead;
      inFlight[i] = new Promise<void>((resolve, reject) =>
        dest.write(buf.subarray(0, bytesRead), (err) => (err ? reject(err) : resolve())),
      );
      // a failed write surfaces when the buffer comes round again, or below
      inFlight[i]?.catch(() => undefined);
      i ^= 1;
    }
    await Promise.all(inFlight);
    return sent;
  } finally {
    await fh.close();
  }
}

export interface DataRequest {
  method: 'GET' | 'PUT';
  url: string;
  headers: Record<string, string>;
  /** request body; sent with backpressure */
  body?: Readable | Buffer | FileBody;
  /** abort when the socket is idle this long (default 120 s); a slow but moving transfer never times out */
  idleTimeoutMs?: number;
}

const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 64 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 64 }),
};

/** Sends one request and resolves with the response head; the body is the caller's to read. */
export function sendDataRequest(r: DataRequest): Promise<IncomingMessage> {
  const url = new URL(r.url);
  const secure = url.protocol === 'https:';
  return new Promise<IncomingMessage>((resolve, reject) => {
    let settled = false;
    const fail = (err: Error & { code?: string }) => {
      if (settled) return;
      settled = true;
      reject(
        new OpenStackConnectionError(`${r.method} ${url.origin}${url.pathname} failed: ${err.message}`, {
          ...(err.code ? { code: err.code } : {}),
          method: r.method,
          url: `${url.origin}${url.pathname}`,
          cause: err,
        }),
      );
    };
    let refused = false;
    const req = (secure ? https : http).request(
      url,
      { method: r.method, headers: r.headers, agent: secure ? agents.https : agents.http },
      (res) => {
        settled = true;
        // Glance may refuse an upload before reading all of it: stop sending.
        if (res.statusCode && res.statusCode >= 300) {
          refused = true;
          if (r.body instanceof Readable) r.body.unpipe(req);
        }
        resolve(res);
      },
    );
    req.on('error', fail);
    req.setTimeout(r.idleTimeoutMs ?? 120_000, () =>
      req.destroy(Object.assign(new Error('idle timeout'), { code: 'ETIMEDOUT' })),
    );
    if (r.body === undefined) {
      req.end();
    } else if (Buffer.isBuffer(r.body)) {
      req.end(r.body);
    } else if (isFileBody(r.body)) {
      pumpFile(req, r.body.path, { stop: () => refused || req.destroyed }).then(
        () => req.end(),
        (e: Error) => req.destroy(e),
      );
    } else {
      const body = r.body;
      body.on('error', (e) => req.destroy(e));
      body.pipe(req);
    }
  });
}

/** Reads at most 64 KiB of an error answer and turns it into OpenStackHttpError. */
export async function httpErrorFrom(
  res: IncomingMessage,
  method: string,
  url: string,
): Promise<OpenStackHttpError> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      if (total < 65536) chunks.push(chunk);
      total += chunk.length;
    }
  } catch {
    /* a cut-off error body still has a status */
  }
  // an error may come before Glance read an upload's whole body: the socket
  // is mid-request and cannot go back to the keep-alive pool
  res.destroy();
  const text = Buffer.concat(chunks).toString('utf8');
  const parsed = parseOpenStackError(text);
  const status = res.statusCode ?? 0;
  const requestId = res.headers['x-openstack-request-id'];
  return new OpenStackHttpError({
    status,
    message: parsed?.message ?? `HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}`,
    code: parsed?.code,
    title: parsed?.title,
    detail: parsed?.detail,
    method,
    url: url.split('?')[0],
    requestId: typeof requestId === 'string' ? requestId : undefined,
    body: text,
  });
}

export interface AuthedDataRequest extends Omit<DataRequest, 'body' | 'headers'> {
  headers?: Record<string, string>;
  /** a factory is called again for the one retry after a 401; a plain stream cannot be retried */
  body?: Readable | Buffer | FileBody | (() => Readable);
  userAgent?: string;
  requestId?: string;
}

/**
 * A data request as the session's identity: X-Auth-Token injected, one retry
 * with a fresh token after a 401 when the body can be sent again. Non-2xx
 * answers become OpenStackHttpError, no answer OpenStackConnectionError.
 */
export async function sendAuthed(session: KeystoneSession, r: AuthedDataRequest): Promise<IncomingMessage> {
  const requestId = r.requestId ?? newRequestId();
  for (let attempt = 0; ; attempt++) {
    const token = await session.getToken();
    const body = typeof r.body === 'function' ? r.body() : r.body;
    const headers: Record<string, string> = {
      ...(r.headers ?? {}),
      'X-Auth-Token': token,
      'X-OpenStack-Request-ID': requestId,
      'User-Agent': r.userAgent ?? session.userAgent ?? 'berth-openstack-clients',
    };
    const res = await sendDataRequest({
      method: r.method,
      url: r.url,
      headers,
      ...(body === undefined ? {} : { body }),
      ...(r.idleTimeoutMs ? { idleTimeoutMs: r.idleTimeoutMs } : {}),
    });
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) return res;
    const retryable =
      r.body === undefined || Buffer.isBuffer(r.body) || isFileBody(r.body) || typeof r.body === 'function';
    if (status === 401 && attempt === 0 && retryable) {
      res.resume();
      if (body instanceof Readable) body.destroy();
      session.invalidate(token);
      continue;
    }
    if (body instanceof Readable) body.destroy();
    throw await httpErrorFrom(res, r.method, r.url);
  }
}
