import sinon from 'sinon';

import { harness, silent } from '../testing/harness';
import { BootImages, type BootImagePublisher, digestImageName, tagImageName } from './boot-images';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

function publisher() {
  let n = 0;
  return {
    publish: sinon
      .stub<Parameters<BootImagePublisher['publish']>, ReturnType<BootImagePublisher['publish']>>()
      .callsFake(async () => `img-${++n}`),
    rename: sinon.stub<Parameters<BootImagePublisher['rename']>, Promise<void>>().resolves(),
    remove: sinon.stub<Parameters<BootImagePublisher['remove']>, Promise<void>>().resolves(),
  };
}

describe('BootImages', () => {
  it('names images without colons, so the openstack CLI can find them', () => {
    expect(tagImageName('team/web', '1.0')).toBe('team/web_1.0');
    expect(digestImageName('web', D1)).toBe('web@sha256-111111111111');
  });

  it('registers a tag once per digest, pins digests, renames the image a moved tag leaves', async () => {
    const h = await harness();
    const repo = await h.repo('web', 'proj-1');
    const p = publisher();
    const boot = new BootImages(
      h.db,
      p,
      () => ({ registry: 'reg:9494', registryUrl: 'http://reg:9494' }),
      silent,
    );

    const first = await boot.registerTag(repo, '1.0', D1, 'application/vnd.oci.image.manifest.v1+json');
    expect(first.created).toBe(true);
    expect(p.publish.firstCall.args[0]).toEqual({
      projectId: 'proj-1',
      name: 'web_1.0',
      registry: 'reg:9494',
      registryUrl: 'http://reg:9494',
      repository: 'proj-1/web',
      digest: D1,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      tag: '1.0',
    });
    expect((await boot.registerTag(repo, '1.0', D1, 'x')).created).toBe(false);
    expect(p.publish.callCount).toBe(1);

    await boot.registerTag(repo, '1.0', D2, 'x');
    expect(p.rename.calledOnceWith('img-1', 'web@sha256-111111111111')).toBe(true);
    expect((await h.db.bootImages({ repositoryId: repo.id, tag: '1.0' })).map((r) => r.digest)).toEqual([D2]);

    await boot.tagDeleted(repo, '1.0');
    expect(p.remove.calledOnceWith('img-2')).toBe(true);
    await boot.manifestDeleted(repo, D1);
    expect(p.remove.calledWith('img-1')).toBe(true);
    expect(await h.db.allBootImages()).toEqual([]);
    await h.close();
  });

  it('registers digests idempotently unless a name is given', async () => {
    const h = await harness();
    const repo = await h.repo('web');
    const p = publisher();
    const boot = new BootImages(h.db, p, () => ({ registry: 'r', registryUrl: 'http://r' }), silent);
    const a = await boot.registerDigest(repo, D1, 'x');
    const b = await boot.registerDigest(repo, D1, 'x');
    expect([a.created, b.created, b.row.imageId]).toEqual([true, false, a.row.imageId]);
    const named = await boot.registerDigest(repo, D1, 'x', 'my-web');
    expect([named.created, named.name]).toEqual([true, 'my-web']);
    await h.close();
  });
});
