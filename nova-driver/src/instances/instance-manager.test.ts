import pino from 'pino';
import sinon from 'sinon';

import { FakeEngine } from '../docker/fake-engine';
import { bufferStream, ImageDTO, ImageStore } from '../images/image-store';
import type { GlanceImages } from '../images/glance-images';
import { AgentState } from '../state/agent-db';
import { InstanceDTO, sandboxCreateSpec } from './container-config';
import { defaultSpec } from '../spec/container-spec';
import { InstanceError, InstanceManager, VifPlugger } from './instance-manager';
import { containerName, glanceImageRef, LABELS } from './naming';
import { PowerState } from './power-state';

const caller = { token: 'tok', projectId: 'p1' };
const log = pino({ level: 'silent' });

function instance(over: Partial<InstanceDTO> = {}): InstanceDTO {
  return {
    uuid: '11111111-2222-3333-4444-555555555555',
    name: 'instance-00000001',
    hostname: 'web-1',
    display_name: 'web 1',
    project_id: 'p1',
    user_id: 'u1',
    flavor: { name: 'c1', vcpus: 2, memory_mb: 256, root_gb: 1, extra_specs: {} },
    user_data: null,
    ...over,
  };
}

const image: ImageDTO = {
  id: 'img-1',
  name: 'not-the-docker-name',
  container_format: 'docker',
  properties: {},
};

async function setup() {
  const engine = new FakeEngine();
  engine.addImage('berth/sandbox:latest', { Cmd: ['/bin/sleep', 'infinity'] });
  const glance = {
    download: sinon
      .stub()
      .callsFake(async () => bufferStream(FakeEngine.tarball('busybox:whatever', { Cmd: ['/bin/sh'] }))),
    uploadSnapshot: sinon.stub().callsFake(async (_id: string, data: NodeJS.ReadableStream) => {
      for await (const _ of data) void _;
    }),
  } satisfies GlanceImages;
  const state = await AgentState.open('sqlite://');
  const images = new ImageStore({ engine, glance, state, logger: log, maxCacheBytes: 1024 ** 3 });
  const vifs: VifPlugger = { plug: sinon.stub().resolves(), unplug: sinon.stub().resolves() };
  const m = new InstanceManager({
    engine,
    images,
    glance,
    state,
    logger: log,
    vifs,
    build: {
      host: 'h1',
      sandboxImage: 'berth/sandbox:latest',
      pidsLimit: 100,
      hostCapabilities: ['CHOWN', 'SYS_ADMIN'],
    },
    defaultStopTimeout: 10,
    consoleTailLines: 50,
  });
  return { engine, glance, state, m, vifs };
}

describe('InstanceManager', () => {
  it('spawns a sandbox and a workload with the flavor limits, by Glance id', async () => {
    const { engine, glance, m } = await setup();
    const state = await m.spawn(instance(), image, [], true, caller);
    expect(state).toBe(PowerState.RUNNING);
    expect(glance.download.calledOnceWith('img-1', caller)).toBe(true);
    const w = await engine.inspectContainer(containerName(instance().uuid, 'workload'));
    const s = await engine.inspectContainer(containerName(instance().uuid, 'sandbox'));
    expect(w!.image).toBe(glanceImageRef('img-1'));
    expect(w!.hostConfig.Memory).toBe(256 * 1024 * 1024);
    expect(w!.hostConfig.MemorySwap).toBe(256 * 1024 * 1024);
    expect(w!.hostConfig.NanoCpus).toBe(2e9);
    expect(w!.hostConfig.NetworkMode).toBe(`container:${s!.id}`);
    expect(w!.labels[LABELS.instanceUuid]).toBe(instance().uuid);
    expect(s!.config.Hostname).toBe('web-1');
    expect(s!.hostConfig.NetworkMode).toBe('none');
  });

  it('applies the container spec from user data', async () => {
    const { engine, m } = await setup();
    const spec =
      '#container-spec\ncommand: [httpd, -f]\nenv: {A: b}\nports: [8080]\nrestart_policy: always\nvolumes: [{name: data, target: /data}]\n';
    await m.spawn(instance({ user_data: Buffer.from(spec).toString('base64') }), image, [], true, caller);
    const w = (await engine.inspectContainer(containerName(instance().uuid, 'workload')))!;
    expect(w.config.Cmd).toEqual(['httpd', '-f']);
    expect(w.config.Env).toContain('A=b');
    expect(w.config.Env).toContain(`OPENSTACK_INSTANCE_UUID=${instance().uuid}`);
    const sandbox = (await engine.inspectContainer(containerName(instance().uuid, 'sandbox')))!;
    expect(sandbox.config.ExposedPorts).toEqual({ '8080/tcp': {} });
    expect(w.hostConfig.RestartPolicy).toEqual({ Name: 'always' });
    expect(engine.volumes.has(`nova-${instance().uuid}-data`)).toBe(true);
  });

  it('is idempotent: a repeated spawn converges, a second destroy is a no-op', async () => {
    const { engine, glance, m } = await setup();
    await m.spawn(instance(), image, [], true, caller);
    await m.spawn(instance(), image, [], true, caller);
    expect(engine.containers.size).toBe(2);
    expect(glance.download.callCount).toBe(1);
    await m.destroy(instance().uuid, []);
    await m.destroy(instance().uuid, []);
    expect(engine.containers.size).toBe(0);
    expect(engine.volumes.size).toBe(0);
  });

  it('finishes a spawn cut short after the sandbox started', async () => {
    const { engine, m } = await setup();
    const create = engine.createContainer.bind(engine);
    let n = 0;
    engine.createContainer = async (spec) => {
      if (++n === 2) throw Object.assign(new Error('agent killed'), { name: 'Killed' });
      return create(spec);
    };
    await expect(m.spawn(instance(), image, [], true, caller)).rejects.toThrow('agent killed');
    // the failed spawn cleaned up after itself
    expect(engine.containers.size).toBe(0);
    engine.createContainer = create;
    expect(await m.spawn(instance(), image, [], true, caller)).toBe(PowerState.RUNNING);
  });

  it('reuses the sandbox a killed agent left behind', async () => {
    const { engine, m } = await setup();
    const build = { host: 'h1', sandboxImage: 'berth/sandbox:latest', pidsLimit: 100, hostCapabilities: [] };
    await engine.createContainer(sandboxCreateSpec(instance(), defaultSpec(), build));
    expect(await m.spawn(instance(), image, [], true, caller)).toBe(PowerState.RUNNING);
    expect(engine.containers.size).toBe(2);
  });

  it('refuses isolation-weakening specs without a grant and leaves nothing behind', async () => {
    const { engine, m } = await setup();
    const ud = Buffer.from('#container-spec\nprivileged: true\n').toString('base64');
    const err = await m.spawn(instance({ user_data: ud }), image, [], true, caller).catch((e) => e);
    expect(err).toBeInstanceOf(InstanceError);
    expect(err.kind).toBe('refused');
    expect(err.message).toContain('berth:allow_privileged');
    expect(engine.containers.size).toBe(0);
    const granted = instance({
      user_data: ud,
      flavor: { ...instance().flavor, extra_specs: { 'berth:allow_privileged': 'true' } },
    });
    await m.spawn(granted, image, [], true, caller);
    expect(
      (await engine.inspectContainer(containerName(granted.uuid, 'workload')))!.hostConfig.Privileged,
    ).toBe(true);
  });

  it('gives nested docker the host capabilities and a docker volume', async () => {
    const { engine, m } = await setup();
    const ud = Buffer.from('#container-spec\nnested_docker: true\n').toString('base64');
    const inst = instance({
      user_data: ud,
      flavor: { ...instance().flavor, extra_specs: { 'berth:allow_nested_docker': 'true' } },
    });
    await m.spawn(inst, image, [], true, caller);
    const w = (await engine.inspectContainer(containerName(inst.uuid, 'workload')))!;
    expect(w.hostConfig.CapAdd).toEqual(['CHOWN', 'SYS_ADMIN']);
    expect(w.hostConfig.SecurityOpt).toEqual(['seccomp=unconfined', 'apparmor=unconfined']);
    expect(w.hostConfig.MaskedPaths).toEqual([]);
    expect(w.hostConfig.ReadonlyPaths).toEqual([]);
    expect(w.hostConfig.Mounts).toContainEqual({
      Type: 'volume',
      Source: `nova-${inst.uuid}-docker`,
      Target: '/var/lib/docker',
      ReadOnly: false,
    });
  });

  it('rejects images that are not docker tarballs', async () => {
    const { glance, m } = await setup();
    const bare = await m
      .spawn(instance(), { ...image, container_format: 'bare' }, [], true, caller)
      .catch((e) => e);
    expect(bare.kind).toBe('image');
    expect(bare.message).toContain('container_format is bare');
    glance.download.callsFake(async () => bufferStream(Buffer.from('not a tarball')));
    const junk = await m.spawn(instance(), image, [], true, caller).catch((e) => e);
    expect(junk.kind).toBe('image');
    expect(junk.message).toContain('not a `docker save` tarball');
  });

  it('checks the Glance checksum of what it loads', async () => {
    const { m } = await setup();
    const err = await m
      .spawn(instance(), { ...image, checksum: '0'.repeat(32) }, [], true, caller)
      .catch((e) => e);
    expect(err.message).toContain('does not match the checksum');
  });

  it('maps container states to Nova power states through the lifecycle', async () => {
    const { engine, m } = await setup();
    const uuid = instance().uuid;
    await m.spawn(instance(), image, [], false, caller);
    expect(await m.powerState(uuid)).toBe(PowerState.SHUTDOWN);
    await m.powerOn(uuid);
    expect(await m.powerState(uuid)).toBe(PowerState.RUNNING);
    await m.pause(uuid);
    expect(await m.powerState(uuid)).toBe(PowerState.PAUSED);
    await m.unpause(uuid);
    await m.suspend(uuid);
    expect(await m.powerState(uuid)).toBe(PowerState.SUSPENDED);
    await m.resume(uuid);
    expect(await m.powerState(uuid)).toBe(PowerState.RUNNING);
    await m.powerOff(uuid, 0);
    await m.powerOff(uuid, 0);
    expect(await m.powerState(uuid)).toBe(PowerState.SHUTDOWN);
    await m.reboot(uuid, true);
    expect(await m.powerState(uuid)).toBe(PowerState.RUNNING);
    engine.exit(containerName(uuid, 'workload'), 1);
    expect(await m.powerState(uuid)).toBe(PowerState.SHUTDOWN);
    expect(await m.list()).toEqual([{ uuid, name: 'instance-00000001', power_state: PowerState.SHUTDOWN }]);
    await m.destroy(uuid, []);
    await expect(m.powerState(uuid)).rejects.toMatchObject({ kind: 'not-found' });
  });

  it('restarts a stopped sandbox before powering on', async () => {
    const { engine, m } = await setup();
    const uuid = instance().uuid;
    await m.spawn(instance(), image, [], true, caller);
    await engine.stopContainer(containerName(uuid, 'workload'), 0);
    await engine.stopContainer(containerName(uuid, 'sandbox'), 0);
    await m.powerOn(uuid);
    expect((await engine.inspectContainer(containerName(uuid, 'sandbox')))!.state.running).toBe(true);
  });

  it('returns the container output as console log', async () => {
    const { engine, m } = await setup();
    await m.spawn(instance(), image, [], true, caller);
    engine.log(containerName(instance().uuid, 'workload'), 'hello from the container');
    expect(await m.consoleOutput(instance().uuid)).toContain('hello from the container');
  });

  it('snapshots into the Glance image and keeps it cached for booting', async () => {
    const { engine, glance, m } = await setup();
    await m.spawn(instance(), image, [], true, caller);
    await m.snapshot(instance().uuid, 'snap-1', caller);
    expect(glance.uploadSnapshot.calledOnce).toBe(true);
    expect(glance.uploadSnapshot.firstCall.args[0]).toBe('snap-1');
    expect(await engine.inspectImage(glanceImageRef('snap-1'))).toBeDefined();
    await m.spawn(
      instance({ uuid: '99999999-2222-3333-4444-555555555555' }),
      { ...image, id: 'snap-1' },
      [],
      true,
      caller,
    );
    expect(glance.download.callCount).toBe(1);
  });

  it('reports dockerd being down as an engine outage', async () => {
    const { engine, m } = await setup();
    engine.down = true;
    await expect(m.spawn(instance(), image, [], true, caller)).rejects.toMatchObject({ status: 503 });
  });
});
