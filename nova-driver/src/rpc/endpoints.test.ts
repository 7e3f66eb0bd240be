import { OsloError } from '@berth/oslo-rpc';
import pino from 'pino';
import sinon from 'sinon';

import { EngineError } from '../docker/engine';
import { FakeEngine } from '../docker/fake-engine';
import { InstanceError, InstanceManager } from '../instances/instance-manager';
import { agentEndpoints, toNova } from './endpoints';

function endpoints(manager: Partial<InstanceManager>) {
  const [ep] = agentEndpoints({
    manager: manager as InstanceManager,
    engine: new FakeEngine(),
    reserved: { vcpus: 0, memory_mb: 512, disk_gb: 0 },
    host: 'h1',
    agentVersion: 't',
    logger: pino({ level: 'silent' }),
  });
  return ep!.methods;
}
const info = { method: 'x', namespace: null, version: '1.0', msgId: 'm', uniqueId: 'u', clientTimeout: null };

describe('agent RPC endpoints', () => {
  it.each([
    [new InstanceError('not-found', 'gone'), 'InstanceNotFound', { instance_id: 'u1', code: 404 }],
    [
      new InstanceError('refused', 'cap_add X needs...'),
      'InvalidInput',
      { reason: 'cap_add X needs...', code: 400 },
    ],
    [
      new InstanceError('image', 'not a tarball', 'img'),
      'ImageUnacceptable',
      { image_id: 'img', reason: 'not a tarball', code: 400 },
    ],
    [new EngineError(503, 'dockerd unreachable'), 'HypervisorUnavailable', {}],
    [
      new EngineError(400, 'conflicting options'),
      'InvalidInput',
      { reason: 'the container engine refused it: conflicting options', code: 400 },
    ],
    [new Error('boom'), 'InstanceDeployFailure', { reason: 'boom', code: 400 }],
  ])('sends %p back as nova.exception.%s', (err, cls, kwargs) => {
    const e = toNova(
      err,
      'u1',
      (r) =>
        new OsloError({
          className: 'InstanceDeployFailure',
          module: 'nova.exception',
          message: r,
          kwargs: { reason: r, code: 400 },
        }),
    );
    expect(e.module).toBe('nova.exception');
    expect(e.className).toBe(cls);
    expect(e.kwargs).toEqual(kwargs);
  });

  it('validates arguments before acting', async () => {
    const m = endpoints({ destroy: sinon.stub() });
    await expect(m.destroy!({}, {}, info)).rejects.toMatchObject({ className: 'InvalidInput' });
    await expect(m.spawn!({}, { instance: { uuid: 'x' } }, info)).rejects.toMatchObject({
      className: 'InvalidInput',
    });
  });

  it('needs the caller token and project to spawn', async () => {
    const spawn = sinon.stub().resolves(1);
    const m = endpoints({ spawn });
    const instance = { uuid: 'u', flavor: { vcpus: 1, memory_mb: 64, extra_specs: {} } };
    await expect(m.spawn!({}, { instance, image: { id: 'i' } }, info)).rejects.toMatchObject({
      className: 'InvalidInput',
    });
    expect(
      await m.spawn!({ auth_token: 't', project_id: 'p' }, { instance, image: { id: 'i' } }, info),
    ).toEqual({ power_state: 1 });
    expect(spawn.firstCall.args[4]).toEqual({ token: 't', projectId: 'p' });
  });

  it('answers ping with the state of dockerd', async () => {
    const m = endpoints({});
    expect(await m.ping!({}, {}, info)).toMatchObject({
      host: 'h1',
      docker: { ok: true, version: '20.10.24' },
    });
  });
});
