import { Readable } from 'node:stream';

import type { GlanceClient, GlanceImage } from '@berth/openstack-clients';
import { OpenStackConnectionError, OpenStackHttpError } from 'keystone-client-ts';
import sinon from 'sinon';

import { RegistryError, StoreUnavailableError } from '../core/errors';
import { GlanceBlobStore, STORE_PROPS } from './glance';
import { GlanceBootImages, pointerPayload } from './glance-boot-images';

const image = (id: string, extra: Partial<GlanceImage> = {}): GlanceImage =>
  ({ id, name: 'x', status: 'active', size: 3, created_at: '2026-01-01T00:00:00Z', ...extra }) as GlanceImage;

function fakeGlance() {
  return {
    createImage: sinon.stub().resolves(image('img-1', { status: 'queued' })),
    uploadData: sinon.stub().resolves(),
    getImage: sinon.stub().resolves(image('img-1', { size: 42 })),
    updateImage: sinon.stub().resolves(image('img-1')),
    deleteImage: sinon.stub().resolves(true),
    downloadData: sinon.stub().resolves({
      status: 206,
      body: Readable.from(['abc']),
      contentLength: 3,
      contentRange: 'bytes 0-2/9',
      checksum: undefined,
    }),
    images: sinon.stub(),
  };
}
const asClient = (g: ReturnType<typeof fakeGlance>) => g as unknown as GlanceClient;

describe('GlanceBlobStore', () => {
  it('stores an object as a hidden private bare/raw image of the service project, labelled with properties', async () => {
    const g = fakeGlance();
    const store = new GlanceBlobStore(asClient(g), 'ns1');
    const obj = await store.put(
      Buffer.from('abc'),
      { kind: 'manifest', digest: 'sha256:aa', mediaType: 'm/t' },
      3,
    );
    expect(obj).toEqual({ ref: 'img-1', size: 3 });
    expect(g.createImage.firstCall.args[0]).toEqual({
      name: 'oci-manifest sha256:aa',
      container_format: 'bare',
      disk_format: 'raw',
      visibility: 'private',
      os_hidden: true,
      properties: {
        [STORE_PROPS.namespace]: 'ns1',
        [STORE_PROPS.kind]: 'manifest',
        [STORE_PROPS.digest]: 'sha256:aa',
        [STORE_PROPS.mediaType]: 'm/t',
      },
    });
    expect(g.uploadData.firstCall.args[2]).toEqual({ size: 3 });
  });

  it('learns the size from Glance for a stream of unknown length, and labels it later', async () => {
    const g = fakeGlance();
    const store = new GlanceBlobStore(asClient(g), 'ns1');
    expect(await store.put(Readable.from(['x']), { kind: 'blob', uploadId: 'u1' })).toEqual({
      ref: 'img-1',
      size: 42,
    });
    expect(g.createImage.firstCall.args[0].name).toBe('oci-blob upload u1');
    await store.commit('img-1', { kind: 'blob', digest: 'sha256:bb', uploadId: 'u1' });
    expect(g.updateImage.firstCall.args[1].set).toMatchObject({
      name: 'oci-blob sha256:bb',
      [STORE_PROPS.digest]: 'sha256:bb',
    });
  });

  it('deletes the image of a failed upload, and reports Glance outages as StoreUnavailableError', async () => {
    const g = fakeGlance();
    g.uploadData.rejects(new OpenStackConnectionError('connect ECONNREFUSED', { code: 'ECONNREFUSED' }));
    const store = new GlanceBlobStore(asClient(g), 'ns1');
    await expect(store.put(Buffer.from('abc'), { kind: 'blob' })).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
    expect(g.deleteImage.calledOnceWith('img-1')).toBe(true);
    g.createImage.rejects(new OpenStackHttpError({ status: 503, message: 'busy' }));
    await expect(store.put(Buffer.from('abc'), { kind: 'blob' })).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
  });

  it('maps a full quota to DENIED and passes other errors on', async () => {
    const g = fakeGlance();
    g.uploadData.rejects(new OpenStackHttpError({ status: 413, message: 'quota' }));
    const store = new GlanceBlobStore(asClient(g), 'ns1');
    const e = await store.put(Buffer.from('abc'), { kind: 'blob' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RegistryError);
    expect((e as RegistryError).code).toBe('DENIED');
  });

  it('reads ranges through Glance and lists its namespace', async () => {
    const g = fakeGlance();
    g.images.callsFake(async function* () {
      yield image('a', {
        [STORE_PROPS.kind]: 'blob',
        [STORE_PROPS.digest]: 'sha256:cc',
        [STORE_PROPS.upload]: 'u9',
      });
      yield image('b', { status: 'queued', size: null });
    });
    const store = new GlanceBlobStore(asClient(g), 'ns1');
    const r = await store.read('img-1', { start: 0, end: 2 });
    expect(r.length).toBe(3);
    expect(g.downloadData.firstCall.args).toEqual(['img-1', { range: { start: 0, end: 2 } }]);
    const listed = [];
    for await (const o of store.list()) listed.push(o);
    expect(g.images.firstCall.args[0]).toMatchObject({
      os_hidden: true,
      properties: { [STORE_PROPS.namespace]: 'ns1' },
    });
    expect(listed.map((o) => [o.ref, o.kind, o.digest, o.complete, o.uploadId])).toEqual([
      ['a', 'blob', 'sha256:cc', true, 'u9'],
      ['b', undefined, undefined, false, undefined],
    ]);
  });
});

describe('GlanceBootImages', () => {
  it('creates an active docker/raw image owned by the project, with the contract properties and a pointer payload', async () => {
    const g = fakeGlance();
    const boot = new GlanceBootImages(asClient(g));
    const spec = {
      projectId: 'p1',
      name: 'web_1.0',
      registry: 'reg:9494',
      registryUrl: 'http://reg:9494',
      repository: 'p1/web',
      digest: 'sha256:dd',
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      tag: '1.0',
    };
    expect(await boot.publish(spec)).toBe('img-1');
    expect(g.createImage.firstCall.args[0]).toEqual({
      name: 'web_1.0',
      container_format: 'docker',
      disk_format: 'raw',
      visibility: 'private',
      owner: 'p1',
      properties: {
        berth_oci_registry: 'reg:9494',
        berth_oci_registry_url: 'http://reg:9494',
        berth_oci_repository: 'p1/web',
        berth_oci_digest: 'sha256:dd',
        berth_oci_media_type: 'application/vnd.oci.image.manifest.v1+json',
        berth_oci_tag: '1.0',
      },
    });
    const payload = JSON.parse((g.uploadData.firstCall.args[1] as Buffer).toString());
    expect(payload.reference).toBe('reg:9494/p1/web@sha256:dd');
    expect(pointerPayload(spec).length).toBeLessThan(1024);
  });

  it('leaves no queued image when the payload upload fails', async () => {
    const g = fakeGlance();
    g.uploadData.rejects(new OpenStackConnectionError('reset', { code: 'ECONNRESET' }));
    const boot = new GlanceBootImages(asClient(g));
    await expect(
      boot.publish({
        projectId: 'p',
        name: 'n',
        registry: 'r',
        registryUrl: 'u',
        repository: 'p/n',
        digest: 'sha256:e',
        mediaType: 'm',
        tag: undefined,
      }),
    ).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(g.deleteImage.calledOnceWith('img-1')).toBe(true);
  });
});
