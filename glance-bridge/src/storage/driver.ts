// The storage driver interface, in the spirit of distribution's
// registry/storage/driver: the registry core keeps every fact about
// repositories, tags and links in SQL and hands bytes to one of these. A
// driver stores opaque objects and says nothing about repositories; the
// core records each object's `ref` (never derived from a digest) beside the
// digest it verified.
//
// An object's life: `put` streams bytes in (the digest may still be unknown
// when the registry streams a push through while it is arriving), `commit`
// labels it with the digest the registry verified, `read` streams it back
// with an optional byte range, `delete` removes it. `list` walks every
// object of this registry (committed or not) for the garbage collector.

import type { Readable } from 'node:stream';

export type ObjectKind = 'blob' | 'manifest';

export interface ObjectLabel {
  kind: ObjectKind;
  /** set once the registry verified the bytes */
  digest?: string;
  mediaType?: string;
  /** the upload session the bytes came from (for logs and orphan hunting) */
  uploadId?: string;
}

export interface StoredObject {
  /** the driver's handle for the object: a Glance image id, a file name... */
  ref: string;
  size: number;
}

export interface ObjectInfo extends StoredObject {
  kind: ObjectKind | undefined;
  /** undefined until committed */
  digest: string | undefined;
  createdAt: Date;
  /** false while bytes are still arriving or after a failed write */
  complete: boolean;
  /** the upload session that wrote it, if any */
  uploadId?: string | undefined;
}

/** Inclusive byte range, as HTTP Range writes it. */
export interface ByteRange {
  start: number;
  end: number;
}

/** A file (or a byte range of it) on local disk, sent without per-chunk allocations. */
export interface FileSource {
  path: string;
  /** inclusive */
  start?: number;
  /** inclusive */
  end?: number;
}

/** An object's bytes: a stream, or a local file the caller sends itself (cheaper). */
export interface ObjectReader {
  body?: Readable;
  file?: FileSource;
  /** bytes to send */
  length: number;
}

export interface BlobStore {
  /** `glance`, `filesystem`... for logs and metrics */
  readonly name: string;
  /**
   * Stores everything `source` yields. `size`, when known, lets the driver
   * announce the length; the result's size is what was actually stored.
   * Throws StoreUnavailableError when the backend cannot be reached; a
   * failed put leaves nothing behind (or, if the backend went away in the
   * middle, something `list` reports as incomplete for the GC).
   */
  put(source: Readable | Buffer | { path: string }, label: ObjectLabel, size?: number): Promise<StoredObject>;
  /** Labels a stored object with its verified digest (and media type). */
  commit(ref: string, label: ObjectLabel): Promise<void>;
  /** Streams an object, or the inclusive `range` of it. */
  read(ref: string, range?: ByteRange): Promise<ObjectReader>;
  /** Removes an object; no error when it is already gone. */
  delete(ref: string): Promise<void>;
  /** Every object this registry stored, for the garbage collector. */
  list(): AsyncIterable<ObjectInfo>;
  /** Throws when the backend is unusable (for /healthcheck). */
  check(): Promise<void>;
}
