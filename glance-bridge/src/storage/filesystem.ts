// A BlobStore on a local directory: one data file and one JSON label per
// object. For unit tests and single-node setups without Glance; it is the
// reference the Glance driver is held to.

import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import type { BlobStore, ByteRange, ObjectInfo, ObjectLabel, ObjectReader, StoredObject } from './driver';

interface LabelFile extends ObjectLabel {
  createdAt: string;
  complete: boolean;
}

const REF = /^[0-9a-f-]{36}$/;

export class FilesystemBlobStore implements BlobStore {
  readonly name = 'filesystem';

  constructor(private readonly root: string) {}

  private data(ref: string) {
    if (!REF.test(ref)) throw new Error(`not an object reference: ${ref}`);
    return join(this.root, `${ref}.data`);
  }
  private label(ref: string) {
    return join(this.root, `${ref}.json`);
  }

  async put(
    source: Readable | Buffer | { path: string },
    label: ObjectLabel,
    _size?: number,
  ): Promise<StoredObject> {
    await mkdir(this.root, { recursive: true });
    const ref = randomUUID();
    const meta: LabelFile = { ...label, createdAt: new Date().toISOString(), complete: false };
    await writeFile(this.label(ref), JSON.stringify(meta));
    const partial = `${this.data(ref)}.partial`;
    try {
      if (Buffer.isBuffer(source)) await pipeline(Readable.from([source]), createWriteStream(partial));
      else if (source instanceof Readable) await pipeline(source, createWriteStream(partial));
      else await copyFile(source.path, partial);
      await rename(partial, this.data(ref));
    } catch (e) {
      await rm(partial, { force: true });
      await rm(this.label(ref), { force: true });
      throw e;
    }
    meta.complete = true;
    await writeFile(this.label(ref), JSON.stringify(meta));
    return { ref, size: (await stat(this.data(ref))).size };
  }

  async commit(ref: string, label: ObjectLabel): Promise<void> {
    const meta = JSON.parse(await readFile(this.label(ref), 'utf8')) as LabelFile;
    await writeFile(this.label(ref), JSON.stringify({ ...meta, ...label }));
  }

  async read(ref: string, range?: ByteRange): Promise<ObjectReader> {
    const path = this.data(ref);
    const size = (await stat(path)).size;
    if (!range) return { file: { path }, length: size };
    return { file: { path, start: range.start, end: range.end }, length: range.end - range.start + 1 };
  }

  async delete(ref: string): Promise<void> {
    await rm(this.data(ref), { force: true });
    await rm(`${this.data(ref)}.partial`, { force: true });
    await rm(this.label(ref), { force: true });
  }

  async *list(): AsyncIterable<ObjectInfo> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch {
      return;
    }
    for (const name of names) {
      if (!name.endsWith('.json')) continue;
      const ref = name.slice(0, -5);
      let meta: LabelFile;
      try {
        meta = JSON.parse(await readFile(join(this.root, name), 'utf8')) as LabelFile;
      } catch {
        continue;
      }
      const size = await stat(this.data(ref)).then(
        (s) => s.size,
        () => 0,
      );
      yield {
        ref,
        size,
        kind: meta.kind,
        digest: meta.digest,
        createdAt: new Date(meta.createdAt),
        complete: meta.complete,
        uploadId: meta.uploadId,
      };
    }
  }

  async check(): Promise<void> {
    await mkdir(this.root, { recursive: true });
  }
}
