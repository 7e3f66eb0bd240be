import pino from 'pino';
import sinon from 'sinon';

import { FakeEngine } from '../docker/fake-engine';
import { glanceImageRef } from '../instances/naming';
import { AgentState } from '../state/agent-db';
import { bufferStream, ImageStore, OciPuller } from './image-store';

const caller = { token: 't', projectId: 'p' };

async function setup(maxCacheBytes: number, oci?: OciPuller) {
  const engine = new FakeEngine();
  const glance = {
    download: sinon.stub().callsFake(async (id: string) => bufferStream(FakeEngine.tarball(`x/${id}:1`))),
    uploadSnapshot: sinon.stub(),
  };
  const state = await AgentState.open('sqlite://');
  const store = new ImageStore({
    engine,
    glance,
    state,
    logger: pino({ level: 'silent' }),
    maxCacheBytes,
    ...(oci ? { oci } : {}),
  });
  return { engine, glance, state, store };
}

const img = (id: string) => ({ id, container_format: 'docker', properties: {} });

describe('ImageStore', () => {
  it('loads concurrent requests for one image once', async () => {
    const { glance, store } = await setup(1e9);
    const refs = await Promise.all([store.ensure(img('a'), caller), store.ensure(img('a'), caller)]);
    expect(refs).toEqual([glanceImageRef('a'), glanceImageRef('a')]);
    expect(glance.download.callCount).toBe(1);
  });

  it('evicts least recently used images beyond the bound, never one in use', async () => {
    // each fake image is 1024 bytes: room for two
    const { engine, store, state } = await setup(2048);
    await store.ensure(img('a'), caller);
    await store.ensure(img('b'), caller);
    await engine.createContainer({ name: 'uses-a', Image: glanceImageRef('a'), HostConfig: {} });
    await store.ensure(img('c'), caller);
    // a is in use, so b (the next oldest) went
    expect((await state.cachedImages()).map((r) => r.image_id).sort()).toEqual(['a', 'c']);
    expect(await engine.inspectImage(glanceImageRef('b'))).toBeUndefined();
  });

  it('hands images registered by glance-bridge to the OCI puller', async () => {
    const oci: OciPuller = {
      handles: (i) => 'berth_oci_digest' in i.properties,
      pull: sinon.stub().resolves('reg/p/r@sha256:abc'),
    };
    const { glance, store } = await setup(1e9, oci);
    const ref = await store.ensure(
      { id: 'o', container_format: 'docker', properties: { berth_oci_digest: 'sha256:abc' } },
      caller,
    );
    expect(ref).toBe('reg/p/r@sha256:abc');
    expect(glance.download.called).toBe(false);
  });
});
