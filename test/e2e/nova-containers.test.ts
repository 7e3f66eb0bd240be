// Containers as Nova servers, end to end: the openstack CLI against real
// Nova, Glance, Keystone and RabbitMQ; Berth's shim in nova-compute; the
// agent driving the real dockerd. Each assertion looks at both sides: what
// Nova says and what dockerd runs.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { adminCredentials, CliError, openstack, run, waitFor } from '../support/openstack-cli';
import { containersOf, DockerInspect, inspectContainer, NovaFixture } from '../support/nova-fixture';

jest.setTimeout(300_000);

const f = new NovaFixture();
beforeAll(() => f.setUp(), 300_000);
afterAll(() => f.tearDown(), 300_000);

const SPEC = `#container-spec
command: ["/bin/sh", "-c", "echo hello-from-berth $GREETING; exec httpd -f -p 8080 -h /tmp"]
env:
  GREETING: world
ports: [8080, "5353/udp"]
working_dir: /tmp
labels: {tier: web}
`;

describe('a container server', () => {
  let id: string;

  it('boots ACTIVE with --nic none, the flavor limits and the container spec', async () => {
    const created = await f.boot({ userData: SPEC });
    id = created.id;
    await f.waitStatus(id, 'ACTIVE');
    // only admins see where it runs: on this container host
    expect((await f.show(id, adminCredentials))['OS-EXT-SRV-ATTR:host']).toBeTruthy();
    const w = await inspectContainer(id);
    expect(w.State.Running).toBe(true);
    expect(w.HostConfig.Memory).toBe(128 * 1024 * 1024);
    expect(w.HostConfig.NanoCpus).toBe(1e9);
    expect(w.Config.Env).toContain('GREETING=world');
    expect(w.Config.Cmd).toEqual([
      '/bin/sh',
      '-c',
      'echo hello-from-berth $GREETING; exec httpd -f -p 8080 -h /tmp',
    ]);
    expect(w.Config.WorkingDir).toBe('/tmp');
    expect(w.Config.Labels.tier).toBe('web');
    const sandbox = await inspectContainer(id, 'sandbox');
    expect(Object.keys(sandbox.Config.ExposedPorts ?? {}).sort()).toEqual(['5353/udp', '8080/tcp']);
    // the process really runs what the spec says
    const ps = await run('docker', ['exec', `nova-${id}`, 'ps']);
    expect(ps).toContain('httpd -f -p 8080');
  });

  it('shows the container output as console log', async () => {
    const log = await openstack<string>(f.user, ['console', 'log', 'show', id]);
    expect(log).toContain('hello-from-berth world');
  });

  it.each([
    ['stop', 'SHUTOFF', (w: DockerInspect) => expect(w.State.Running).toBe(false)],
    ['start', 'ACTIVE', (w: DockerInspect) => expect(w.State.Running).toBe(true)],
    ['pause', 'PAUSED', (w: DockerInspect) => expect(w.State.Paused).toBe(true)],
    ['unpause', 'ACTIVE', (w: DockerInspect) => expect(w.State.Paused).toBe(false)],
    ['suspend', 'SUSPENDED', (w: DockerInspect) => expect(w.State.Paused).toBe(true)],
    ['resume', 'ACTIVE', (w: DockerInspect) => expect(w.State.Running && !w.State.Paused).toBe(true)],
  ])('%s -> %s', async (action, status, check) => {
    await openstack(f.user, ['server', action, id]);
    await f.waitStatus(id, status);
    check(await inspectContainer(id));
  });

  it('reboots (soft and hard) into a fresh process', async () => {
    for (const hard of [false, true]) {
      const before = (await inspectContainer(id)).State.StartedAt;
      await openstack(f.user, ['server', 'reboot', ...(hard ? ['--hard'] : []), id]);
      await waitFor(
        'a new start',
        async () => ((await inspectContainer(id)).State.StartedAt !== before ? true : undefined),
        120_000,
      );
      await f.waitStatus(id, 'ACTIVE');
      expect((await inspectContainer(id)).State.Running).toBe(true);
    }
  });

  it('snapshots into a Glance image that boots', async () => {
    const snap = `snap-${id.slice(0, 8)}`;
    await openstack(f.user, ['server', 'image', 'create', '--wait', '--name', snap, id, '-f', 'json']);
    const image = await openstack<{
      id: string;
      status: string;
      container_format: string;
      disk_format: string;
    }>(f.user, ['image', 'show', snap, '-f', 'json']);
    expect(image).toMatchObject({ status: 'active', container_format: 'docker', disk_format: 'raw' });
    const child = await f.boot({ image: image.id });
    await f.waitStatus(child.id, 'ACTIVE');
    expect((await inspectContainer(child.id)).State.Running).toBe(true);
    await f.deleteServer(child.id);
    await openstack(adminCredentials, ['image', 'delete', image.id]);
  });

  it('deletes the server and every container, volume and sandbox of it', async () => {
    await openstack(f.user, ['server', 'delete', '--wait', id]);
    expect(await containersOf(id)).toEqual([]);
    const volumes = await run('docker', [
      'volume',
      'ls',
      '-q',
      '--filter',
      `label=org.openstack.nova.instance-uuid=${id}`,
    ]);
    expect(volumes.trim()).toBe('');
  });
});

describe('Nova sees what happens inside', () => {
  it('reports a container whose process exits as SHUTOFF', async () => {
    const s = await f.boot({ userData: '#container-spec\ncommand: ["/bin/sh", "-c", "sleep 3"]\n' });
    await f.waitStatus(s.id, 'ACTIVE');
    // dockerd's die event reaches nova-compute as a lifecycle event; Nova stops the server
    await f.waitStatus(s.id, 'SHUTOFF', 120_000);
    expect((await inspectContainer(s.id)).State.Running).toBe(false);
    await f.deleteServer(s.id);
  });
});

describe('refusals with a readable fault', () => {
  it('refuses capabilities the flavor does not grant, and allows them when it does', async () => {
    const ud = '#container-spec\ncap_add: [NET_ADMIN]\n';
    const refused = await f.boot({ userData: ud });
    const s = await f.waitStatus(refused.id, 'ERROR');
    expect(JSON.stringify(s.fault)).toContain(
      'cap_add NET_ADMIN needs the admin grant berth:allowed_capabilities',
    );
    expect(await containersOf(refused.id)).toEqual([]);
    const granting = await f.makeFlavor({ 'berth:allowed_capabilities': 'NET_ADMIN' });
    const allowed = await f.boot({ userData: ud, flavor: granting });
    await f.waitStatus(allowed.id, 'ACTIVE');
    expect((await inspectContainer(allowed.id)).HostConfig.CapAdd).toEqual(['NET_ADMIN']);
    await f.deleteServer(allowed.id);
    await f.deleteServer(refused.id);
  });

  it('refuses an invalid container spec', async () => {
    const s = await f.boot({ userData: '#container-spec\nrestart_policy: sometimes\n' });
    const failed = await f.waitStatus(s.id, 'ERROR');
    expect(JSON.stringify(failed.fault)).toContain('restart_policy: must be one of');
    await f.deleteServer(s.id);
  });

  it('refuses an image that is not a docker save tarball', async () => {
    const junk = join(f.dir, 'junk.tar');
    writeFileSync(junk, 'this is not a tar archive at all');
    const image = await f.uploadImage(junk, 'docker');
    const s = await f.boot({ image });
    const failed = await f.waitStatus(s.id, 'ERROR');
    expect(JSON.stringify(failed.fault)).toContain('is not a `docker save` tarball');
    await f.deleteServer(s.id);
    const bare = await f.uploadImage(junk, 'bare');
    const s2 = await f.boot({ image: bare });
    const failed2 = await f.waitStatus(s2.id, 'ERROR');
    expect(JSON.stringify(failed2.fault)).toContain('container_format is bare');
    await f.deleteServer(s2.id);
  });

  it('lets Nova refuse a server over quota', async () => {
    await openstack(adminCredentials, ['quota', 'set', '--instances', '1', f.projectId]);
    const first = await f.boot();
    await f.waitStatus(first.id, 'ACTIVE');
    const err = await f.boot().catch((e) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).stderr).toMatch(/Quota exceeded for instances/);
    await f.deleteServer(first.id);
    await openstack(adminCredentials, ['quota', 'set', '--instances', '10', f.projectId]);
  });
});
