// A small typed client for Glance's image API v2 over a keystone-client-ts
// session: images (create, show, list with property filters, update,
// delete, tags) as JSON through the session's HTTP client, and image data
// (upload, ranged download) as streams that never sit in memory.

import { stat } from 'node:fs/promises';

import {
  createHttpClient,
  type HttpClientOptions,
  type KeystoneSession,
  OpenStackHttpError,
} from 'keystone-client-ts';

import { isFileBody, sendAuthed } from './transfer';
import type {
  GlanceByteRange,
  GlanceDataDownload,
  GlanceImage,
  GlanceImageChanges,
  GlanceImageCreate,
  GlanceImageFilters,
  GlancePatchOp,
  GlanceUploadBody,
  GlanceUploadOptions,
} from './types';

export interface GlanceClientOptions {
  /** catalog interface and region (default: the session's) */
  interface?: 'public' | 'internal' | 'admin';
  region?: string;
  /** fixed Glance URL (with or without /v2); wins over the catalog */
  endpointOverride?: string;
  /** timeout of JSON calls (default: the session's, else 30 s) */
  timeoutMs?: number;
  /** data transfers abort after this long without a byte moving (default 120 s) */
  dataIdleTimeoutMs?: number;
  /** X-OpenStack-Request-ID supplier, to follow one user action across services */
  requestId?: () => string | undefined;
  /** replaces the network layer of JSON calls (unit tests) */
  adapter?: HttpClientOptions['adapter'];
}

/** Glance said 404 for the image asked for. */
export function isGlanceNotFound(e: unknown): boolean {
  return e instanceof OpenStackHttpError && e.status === 404;
}

const PATCH_TYPE = 'application/openstack-images-v2.1-json-patch';
const CORE_KEYS = new Set([
  'id',
  'name',
  'container_format',
  'disk_format',
  'visibility',
  'os_hidden',
  'owner',
  'min_disk',
  'min_ram',
  'protected',
  'tags',
]);

/** The catalog lists Glance's root; some clouds register .../v2. Paths here carry /v2 themselves. */
function glanceRoot(url: string): string {
  return url.replace(/\/+$/, '').replace(/\/v2(\.\d+)?$/, '');
}

export class GlanceClient {
  private readonly http: ReturnType<typeof createHttpClient>;
  private rootUrl: string | undefined;

  constructor(
    private readonly session: KeystoneSession,
    private readonly options: GlanceClientOptions = {},
  ) {
    const service: HttpClientOptions['service'] = { type: 'image' };
    if (options.interface) service.interface = options.interface;
    if (options.region) service.region = options.region;
    const httpOptions: HttpClientOptions = { service };
    if (options.endpointOverride) httpOptions.endpointOverride = glanceRoot(options.endpointOverride);
    if (options.timeoutMs) httpOptions.timeoutMs = options.timeoutMs;
    if (options.requestId) httpOptions.requestId = options.requestId;
    if (options.adapter) httpOptions.adapter = options.adapter;
    this.http = createHttpClient(session, httpOptions);
    if (options.endpointOverride) this.rootUrl = glanceRoot(options.endpointOverride);
  }

  /** Glance's base URL (no /v2), from the override or the catalog. */
  async endpoint(): Promise<string> {
    if (!this.rootUrl) {
      this.rootUrl = glanceRoot(
        await this.session.getEndpoint({
          type: 'image',
          ...(this.options.interface ? { interface: this.options.interface } : {}),
          ...(this.options.region ? { region: this.options.region } : {}),
        }),
      );
    }
    return this.rootUrl;
  }

  // ---- images ----

  async createImage(req: GlanceImageCreate): Promise<GlanceImage> {
    const { properties, ...core } = req;
    for (const key of Object.keys(properties ?? {})) {
      if (CORE_KEYS.has(key)) throw new TypeError(`"${key}" is an image attribute, not an extra property`);
    }
    const { data } = await this.http.post<GlanceImage>('/v2/images', { ...(properties ?? {}), ...core });
    return data;
  }

  async getImage(id: string): Promise<GlanceImage> {
    const { data } = await this.http.get<GlanceImage>(`/v2/images/${encodeURIComponent(id)}`);
    return data;
  }

  /** The image, or undefined when Glance does not know it (or it is deleted). */
  async findImage(id: string): Promise<GlanceImage | undefined> {
    try {
      return await this.getImage(id);
    } catch (e) {
      if (isGlanceNotFound(e)) return undefined;
      throw e;
    }
  }

  /** Images matching the filters, page after page, as they arrive. */
  async *images(filters: GlanceImageFilters = {}): AsyncGenerator<GlanceImage> {
    const params = new URLSearchParams();
    const { properties, tags, pageSize, sort, os_hidden, ...rest } = filters;
    for (const [k, v] of Object.entries(rest)) if (v !== undefined) params.append(k, String(v));
    for (const [k, v] of Object.entries(properties ?? {})) params.append(k, v);
    for (const t of tags ?? []) params.append('tag', t);
    if (os_hidden !== undefined) params.append('os_hidden', String(os_hidden));
    if (sort) params.append('sort', sort);
    params.append('limit', String(pageSize ?? 200));
    let path: string | undefined = `/v2/images?${params.toString()}`;
    while (path) {
      const { data }: { data: { images: GlanceImage[]; next?: string } } = await this.http.get(path);
      for (const image of data.images) yield image;
      // `next` is a path with the same filters and a marker
      path = data.next && data.images.length > 0 ? data.next : undefined;
    }
  }

  async listImages(filters: GlanceImageFilters = {}): Promise<GlanceImage[]> {
    const out: GlanceImage[] = [];
    for await (const image of this.images(filters)) out.push(image);
    return out;
  }

  /** Images whose extra properties equal all the given values (hidden ones included when asked). */
  async listImagesByProperties(
    properties: Record<string, string>,
    filters: Omit<GlanceImageFilters, 'properties'> = {},
  ): Promise<GlanceImage[]> {
    return this.listImages({ ...filters, properties });
  }

  /** Sets attributes and extra properties, removes extra properties. */
  async updateImage(id: string, changes: GlanceImageChanges): Promise<GlanceImage> {
    const ops: GlancePatchOp[] = [];
    for (const [k, v] of Object.entries(changes.set ?? {})) ops.push({ op: 'add', path: `/${k}`, value: v });
    for (const k of changes.remove ?? []) ops.push({ op: 'remove', path: `/${k}` });
    return this.patchImage(id, ops);
  }

  /** Raw JSON-patch, for changes `updateImage` cannot say. */
  async patchImage(id: string, ops: GlancePatchOp[]): Promise<GlanceImage> {
    const { data } = await this.http.patch<GlanceImage>(`/v2/images/${encodeURIComponent(id)}`, ops, {
      headers: { 'Content-Type': PATCH_TYPE },
    });
    return data;
  }

  /** Deletes the image; false when it was already gone. */
  async deleteImage(id: string): Promise<boolean> {
    try {
      await this.http.delete(`/v2/images/${encodeURIComponent(id)}`);
      return true;
    } catch (e) {
      if (isGlanceNotFound(e)) return false;
      throw e;
    }
  }

  async addTag(id: string, tag: string): Promise<void> {
    await this.http.put(`/v2/images/${encodeURIComponent(id)}/tags/${encodeURIComponent(tag)}`);
  }

  async removeTag(id: string, tag: string): Promise<void> {
    await this.http.delete(`/v2/images/${encodeURIComponent(id)}/tags/${encodeURIComponent(tag)}`);
  }

  // ---- data ----

  /**
   * PUT /v2/images/{id}/file: the image goes `active` with these bytes.
   * Glance takes the data in one request (no append, no resume). A stream
   * flows with backpressure; pass a factory instead to allow the one retry
   * after an expired token.
   */
  async uploadData(id: string, body: GlanceUploadBody, options: GlanceUploadOptions = {}): Promise<void> {
    const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream' };
    const size = Buffer.isBuffer(body)
      ? body.length
      : (options.size ?? (isFileBody(body) ? (await stat(body.path)).size : undefined));
    if (size !== undefined) headers['Content-Length'] = String(size);
    else headers['Transfer-Encoding'] = 'chunked';
    const res = await sendAuthed(this.session, {
      method: 'PUT',
      url: `${await this.endpoint()}/v2/images/${encodeURIComponent(id)}/file`,
      headers,
      body,
      ...this.dataOptions(),
    });
    res.resume();
    await new Promise<void>((resolve, reject) => {
      res.on('end', resolve);
      res.on('error', reject);
    });
  }

  /**
   * GET /v2/images/{id}/file, the whole image (200) or a byte range (206).
   * The body is a stream the caller must consume or destroy. An image
   * without data (Glance answers 204) is an OpenStackHttpError with status 204.
   */
  async downloadData(id: string, options: { range?: GlanceByteRange } = {}): Promise<GlanceDataDownload> {
    const headers: Record<string, string> = {};
    if (options.range) headers.Range = `bytes=${options.range.start}-${options.range.end ?? ''}`;
    const url = `${await this.endpoint()}/v2/images/${encodeURIComponent(id)}/file`;
    const res = await sendAuthed(this.session, { method: 'GET', url, headers, ...this.dataOptions() });
    if (res.statusCode === 204) {
      res.resume();
      throw new OpenStackHttpError({ status: 204, message: `image ${id} has no data`, method: 'GET', url });
    }
    const length = res.headers['content-length'];
    const range = res.headers['content-range'];
    const md5 = res.headers['content-md5'];
    // without Content-Length (chunked), a range still says how long it is
    const fromRange = typeof range === 'string' ? /^bytes (\d+)-(\d+)\//.exec(range) : null;
    return {
      status: res.statusCode === 206 ? 206 : 200,
      body: res,
      contentLength:
        length !== undefined
          ? Number(length)
          : fromRange
            ? Number(fromRange[2]) - Number(fromRange[1]) + 1
            : undefined,
      contentRange: typeof range === 'string' ? range : undefined,
      checksum: typeof md5 === 'string' ? md5 : undefined,
    };
  }

  private dataOptions() {
    const requestId = this.options.requestId?.();
    return {
      ...(this.options.dataIdleTimeoutMs ? { idleTimeoutMs: this.options.dataIdleTimeoutMs } : {}),
      ...(requestId ? { requestId } : {}),
      ...(this.session.userAgent ? { userAgent: this.session.userAgent } : {}),
    };
  }
}
