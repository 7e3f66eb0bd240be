import sinon from 'sinon';

import type { GlanceClient, GlanceImage } from '@berth/openstack-clients';

import { parseRegistryReference, resolveImage } from './image-reference';

const image = (id: string, name = id): GlanceImage => ({ id, name }) as GlanceImage;
const D = `sha256:${'a'.repeat(64)}`;

describe('registry references', () => {
  it.each([
    ['demo/web', { project: 'demo', repository: 'web', tag: 'latest' }],
    ['demo/web:1.2', { project: 'demo', repository: 'web', tag: '1.2' }],
    [
      '127.0.0.1:9494/demo/apps/web:v1',
      { registry: '127.0.0.1:9494', project: 'demo', repository: 'apps/web', tag: 'v1' },
    ],
    [
      'registry.example.com/demo/web',
      { registry: 'registry.example.com', project: 'demo', repository: 'web', tag: 'latest' },
    ],
    [`demo/web@${D}`, { project: 'demo', repository: 'web', digest: D }],
  ])('parses %s', (ref, parsed) => {
    expect(parseRegistryReference(ref)).toEqual(parsed);
  });

  it.each(['busybox', 'Demo/Web', 'demo/web@sha256:abc', 'demo/', '127.0.0.1:9494/web'])(
    'is not a reference: %s',
    (ref) => {
      expect(parseRegistryReference(ref)).toBeUndefined();
    },
  );
});

describe('resolveImage', () => {
  const owner = { projectId: 'p1', projectName: 'demo' };
  function glance(over: Partial<Record<keyof GlanceClient, sinon.SinonStub>> = {}) {
    return {
      findImage: sinon.stub().resolves(undefined),
      listImages: sinon.stub().resolves([]),
      listImagesByProperties: sinon.stub().resolves([]),
      ...over,
    } as unknown as GlanceClient & { listImagesByProperties: sinon.SinonStub };
  }

  it('takes a Glance id first', async () => {
    const g = glance({ findImage: sinon.stub().resolves(image('0b2a3c7e-8a3e-4f4e-9a51-1b6a3a1b2c3d')) });
    await expect(resolveImage(g, owner, '0b2a3c7e-8a3e-4f4e-9a51-1b6a3a1b2c3d')).resolves.toMatchObject({
      id: '0b2a3c7e-8a3e-4f4e-9a51-1b6a3a1b2c3d',
    });
  });

  it('finds a glance-bridge boot image by repository and tag or digest, in the caller project only', async () => {
    const g = glance({ listImagesByProperties: sinon.stub().resolves([image('boot-1')]) });
    await expect(resolveImage(g, owner, '127.0.0.1:9494/demo/web:v1')).resolves.toMatchObject({
      id: 'boot-1',
    });
    expect(g.listImagesByProperties.firstCall.args[0]).toEqual({
      berth_oci_repository: 'p1/web',
      berth_oci_tag: 'v1',
    });
    await resolveImage(g, owner, `p1/web@${D}`);
    expect(g.listImagesByProperties.secondCall.args[0]).toEqual({
      berth_oci_repository: 'p1/web',
      berth_oci_digest: D,
    });
    await expect(resolveImage(g, owner, 'other/web:v1')).rejects.toThrow(/names project other/);
    await expect(resolveImage(glance(), owner, 'demo/web:v2')).rejects.toThrow(/no boot image/);
  });

  it('falls back to a unique name', async () => {
    await expect(
      resolveImage(glance({ listImages: sinon.stub().resolves([image('i1', 'busybox')]) }), owner, 'busybox'),
    ).resolves.toMatchObject({ id: 'i1' });
    await expect(
      resolveImage(glance({ listImages: sinon.stub().resolves([image('a'), image('b')]) }), owner, 'busybox'),
    ).rejects.toThrow(/more than one image/);
    await expect(resolveImage(glance(), owner, 'busybox')).rejects.toMatchObject({
      status: 400,
      message: 'image busybox not found',
    });
  });
});
