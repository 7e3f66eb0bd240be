import pino from 'pino';

import { FakeEngine } from '../docker/fake-engine';
import { AgentState } from '../state/agent-db';
import { BridgeOciPuller } from './oci-puller';

const digest = `sha256:${'a'.repeat(64)}`;
const image = {
  id: 'img-oci',
  container_format: 'docker',
  properties: {
    berth_oci_registry: '127.0.0.1:9494',
    berth_oci_repository: 'p1/web',
    berth_oci_digest: digest,
  },
};
const caller = { token: 'user-token', projectId: 'p1' };

describe('BridgeOciPuller', () => {
  it('pulls <registry>/<repository>@<digest> once with the caller token and caches it', async () => {
    const engine = new FakeEngine();
    const ref = `127.0.0.1:9494/p1/web@${digest}`;
    engine.registry.set(ref, { Cmd: ['/bin/sh'] });
    const state = await AgentState.open('sqlite://');
    const puller = new BridgeOciPuller(engine, state, pino({ level: 'silent' }));
    expect(puller.handles(image)).toBe(true);
    expect(puller.handles({ ...image, properties: {} })).toBe(false);
    const [a, b] = await Promise.all([puller.pull(image, caller), puller.pull(image, caller)]);
    expect(a).toBe(ref);
    expect(b).toBe(ref);
    expect(engine.calls.filter((c) => c.startsWith('pull'))).toEqual([`pull ${ref}`]);
    expect((await state.cachedImages()).map((r) => r.ref)).toEqual([ref]);
    await puller.pull(image, caller);
    expect(engine.calls.filter((c) => c.startsWith('pull'))).toHaveLength(1);
  });

  it('refuses an image without a proper digest, and reports a failed pull as an unusable image', async () => {
    const engine = new FakeEngine();
    const puller = new BridgeOciPuller(engine, await AgentState.open('sqlite://'), pino({ level: 'silent' }));
    await expect(
      puller.pull({ ...image, properties: { ...image.properties, berth_oci_digest: 'latest' } }, caller),
    ).rejects.toThrow('needs berth_oci_registry');
    await expect(puller.pull(image, caller)).rejects.toThrow('pulling 127.0.0.1:9494/p1/web@sha256');
  });
});
