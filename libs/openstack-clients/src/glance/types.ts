// The parts of Glance's image API (v2) that Berth reads and writes, typed as
// Glance 25 (Zed) answers them. Extra (user) properties are flat string
// members of the image object; helpers below read them without `any`.

import type { Readable } from 'node:stream';

export type GlanceImageStatus =
  | 'queued'
  | 'saving'
  | 'uploading'
  | 'importing'
  | 'active'
  | 'deactivated'
  | 'killed'
  | 'deleted'
  | 'pending_delete';

export type GlanceVisibility = 'public' | 'private' | 'shared' | 'community';

/** An image as GET /v2/images/{id} returns it. */
export interface GlanceImage {
  id: string;
  name: string | null;
  status: GlanceImageStatus;
  visibility: GlanceVisibility;
  os_hidden: boolean;
  owner: string | null;
  container_format: string | null;
  disk_format: string | null;
  size: number | null;
  virtual_size?: number | null;
  checksum: string | null;
  os_hash_algo: string | null;
  os_hash_value: string | null;
  min_disk: number;
  min_ram: number;
  protected: boolean;
  tags: string[];
  created_at: string;
  updated_at: string;
  /** extra properties: always strings in Glance v2 */
  [property: string]: unknown;
}

/** POST /v2/images. `properties` become extra properties (string values). */
export interface GlanceImageCreate {
  /** a caller-chosen id is accepted, but an id can never be reused, even after deletion */
  id?: string;
  name?: string;
  container_format?: 'bare' | 'docker' | 'ovf' | 'ova' | 'aki' | 'ari' | 'ami' | 'compressed';
  disk_format?: 'raw' | 'qcow2' | 'vhd' | 'vhdx' | 'vmdk' | 'vdi' | 'iso' | 'ploop' | 'aki' | 'ari' | 'ami';
  visibility?: GlanceVisibility;
  os_hidden?: boolean;
  /** another project than the caller's: needs an admin token */
  owner?: string;
  min_disk?: number;
  min_ram?: number;
  protected?: boolean;
  tags?: string[];
  properties?: Record<string, string>;
}

/** GET /v2/images filters. Unknown keys in `properties` filter extra properties by exact match. */
export interface GlanceImageFilters {
  name?: string;
  status?: GlanceImageStatus;
  visibility?: GlanceVisibility | 'all';
  owner?: string;
  /** hidden images are left out of lists unless this is true */
  os_hidden?: boolean;
  container_format?: string;
  disk_format?: string;
  /** all of these Glance tags (repeated `tag=`) */
  tags?: string[];
  properties?: Record<string, string>;
  /** page size (Glance caps it at api_limit_max, 1000 by default) */
  pageSize?: number;
  /** e.g. `created_at:asc` */
  sort?: string;
}

/** One JSON-patch operation (application/openstack-images-v2.1-json-patch). */
export type GlancePatchOp =
  { op: 'add' | 'replace'; path: string; value: unknown } | { op: 'remove'; path: string };

/** What `update` changes: properties or core attributes to set, property names to remove. */
export interface GlanceImageChanges {
  set?: Record<string, unknown>;
  remove?: string[];
}

/** A byte range of image data, inclusive on both ends as HTTP Range is. */
export interface GlanceByteRange {
  start: number;
  /** inclusive; absent means to the end */
  end?: number;
}

/** The answer to a data download: the body stream plus what Glance said about it. */
export interface GlanceDataDownload {
  /** 200 for the whole image, 206 for a range */
  status: 200 | 206;
  body: Readable;
  /** Content-Length of this answer (the range's length for 206) */
  contentLength: number | undefined;
  /** `bytes a-b/total` on 206 */
  contentRange: string | undefined;
  /** Content-MD5: Glance's md5 checksum of the whole image */
  checksum: string | undefined;
}

/**
 * Image data to upload: a stream (sent once), bytes, a factory (re-opened if
 * a retry is needed), or a file by path (read into reused buffers: the
 * cheapest way to send gigabytes).
 */
export type GlanceUploadBody = Readable | Buffer | { path: string } | (() => Readable);

export interface GlanceUploadOptions {
  /** exact size when known: sent as Content-Length instead of chunked encoding */
  size?: number;
}

/** An extra property as a string, or undefined. */
export function imageProperty(image: GlanceImage, key: string): string | undefined {
  const v = image[key];
  return typeof v === 'string' ? v : undefined;
}
