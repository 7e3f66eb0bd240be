// What the Nova end-to-end suites need: a project with a member user, a
// container image in Glance built offline (busybox-static imported into the
// local dockerd, then `docker save`), flavors, and server helpers over the
// real openstack CLI.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { KeystoneFixture, uniqueName } from './keystone-fixture';
import { createFlavor } from './openstack-resources';
import { adminCredentials, Credentials, openstack, run, waitFor } from './openstack-cli';

export interface Server {
  id: string;
  name: string;
  status: string;
  'OS-EXT-STS:power_state'?: string | number;
  'OS-EXT-SRV-ATTR:host'?: string;
  fault?: { message: string; code: number } | string;
}

/** A `docker save` tarball of a busybox image built from Debian's busybox-static. */
export async function busyboxTarball(dir: string): Promise<string> {
  const tar = join(dir, 'busybox.tar');
  const ref = 'berth-test/busybox:latest';
  await run('bash', [
    '-c',
    `set -e; root=$(mktemp -d); mkdir -p $root/bin $root/tmp $root/etc $root/var/www; cp /bin/busybox $root/bin/;
     for a in sh sleep echo env cat ls ps httpd wget ip ifconfig hostname id true nc ping; do ln -s busybox $root/bin/$a; done;
     echo 'root:x:0:0:root:/:/bin/sh' > $root/etc/passwd;
     tar -C $root -c . | docker import --change 'ENV PATH=/bin' --change 'CMD ["/bin/sleep","infinity"]' - ${ref} >/dev/null;
     rm -rf $root; docker save -o ${tar} ${ref}`,
  ]);
  return tar;
}

export class NovaFixture {
  readonly keystone = new KeystoneFixture();
  readonly dir = mkdtempSync(join(tmpdir(), 'berth-nova-e2e-'));
  user!: Credentials;
  projectId!: string;
  imageId!: string;
  flavor!: string;
  private flavors: string[] = [];
  private images: string[] = [];

  async setUp(): Promise<void> {
    const project = await this.keystone.project('nova-e2e');
    const user = await this.keystone.user('nova-e2e');
    await this.keystone.grantProject(user.id, project.id, 'member');
    this.projectId = project.id;
    this.user = { username: user.name, password: user.password, projectName: project.name };
    this.flavor = await this.makeFlavor({});
    this.imageId = await this.uploadImage(await busyboxTarball(this.dir), 'docker');
  }

  async makeFlavor(extraSpecs: Record<string, string>, ram = 128, vcpus = 1): Promise<string> {
    const name = await createFlavor('berth-e2e', ram, vcpus, extraSpecs);
    this.flavors.push(name);
    return name;
  }

  /** uploads a file as the test user's image; returns its id */
  async uploadImage(
    file: string,
    containerFormat: string,
    props: Record<string, string> = {},
    creds = this.user,
  ): Promise<string> {
    const p = Object.entries(props).flatMap(([k, v]) => ['--property', `${k}=${v}`]);
    const img = await openstack<{ id: string }>(creds, [
      'image',
      'create',
      '--container-format',
      containerFormat,
      '--disk-format',
      'raw',
      '--file',
      file,
      ...p,
      uniqueName('img'),
      '-f',
      'json',
    ]);
    this.images.push(img.id);
    return img.id;
  }

  /** `openstack server create` without --wait; returns the new server */
  async boot(
    opts: {
      image?: string;
      flavor?: string;
      userData?: string;
      name?: string;
      network?: string;
      port?: string;
    } = {},
    creds = this.user,
  ): Promise<Server> {
    const args = [
      '--os-compute-api-version',
      '2.37',
      'server',
      'create',
      '--image',
      opts.image ?? this.imageId,
      '--flavor',
      opts.flavor ?? this.flavor,
      ...(opts.network ? ['--network', opts.network] : opts.port ? ['--port', opts.port] : ['--nic', 'none']),
    ];
    if (opts.userData !== undefined) {
      const file = join(this.dir, `${uniqueName('ud')}.yaml`);
      writeFileSync(file, opts.userData);
      args.push('--user-data', file);
    }
    return openstack<Server>(creds, [...args, opts.name ?? uniqueName('srv'), '-f', 'json']);
  }

  show(id: string, creds = this.user): Promise<Server> {
    return openstack<Server>(creds, ['server', 'show', id, '-f', 'json']);
  }

  /** waits until the server leaves BUILD (or a transitional state) and has the wanted status */
  async waitStatus(id: string, status: string, timeoutMs = 180_000): Promise<Server> {
    return waitFor(
      `server ${id} ${status}`,
      async () => {
        const s = await this.show(id);
        if (s.status === status) return s;
        if (s.status === 'ERROR' && status !== 'ERROR')
          throw new Error(`server ${id} went ERROR: ${JSON.stringify(s.fault)}`);
        return undefined;
      },
      timeoutMs,
      1500,
    );
  }

  async deleteServer(id: string): Promise<void> {
    await openstack(adminCredentials, ['server', 'delete', '--wait', id]).catch(() => undefined);
  }

  async tearDown(): Promise<void> {
    const servers = await openstack<{ ID: string }[]>(adminCredentials, [
      'server',
      'list',
      '--all-projects',
      '--project',
      this.projectId,
      '-f',
      'json',
    ]).catch(() => []);
    for (const s of servers) await this.deleteServer(s.ID);
    for (const i of this.images)
      await openstack(adminCredentials, ['image', 'delete', i]).catch(() => undefined);
    for (const f of this.flavors)
      await openstack(adminCredentials, ['flavor', 'delete', f]).catch(() => undefined);
    await openstack(adminCredentials, ['quota', 'set', '--instances', '10', this.projectId]).catch(
      () => undefined,
    );
    await this.keystone.cleanup();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** the parts of `docker inspect` the suites look at */
export interface DockerInspect {
  Id: string;
  State: { Running: boolean; Paused: boolean; Pid: number; StartedAt: string; ExitCode: number };
  Config: {
    Env: string[];
    Cmd: string[];
    WorkingDir: string;
    Labels: Record<string, string>;
    ExposedPorts?: Record<string, object>;
    Hostname: string;
  };
  HostConfig: {
    Memory: number;
    NanoCpus: number;
    CapAdd: string[] | null;
    NetworkMode: string;
    Privileged: boolean;
  };
  NetworkSettings: { SandboxKey: string };
}

/** `docker inspect` of a server's workload (or sandbox) container */
export async function inspectContainer(
  serverId: string,
  role: 'workload' | 'sandbox' = 'workload',
): Promise<DockerInspect> {
  const name = role === 'workload' ? `nova-${serverId}` : `nova-${serverId}-sandbox`;
  return JSON.parse(await run('docker', ['inspect', name]))[0];
}

export async function containersOf(serverId: string): Promise<string[]> {
  const out = await run('docker', [
    'ps',
    '-a',
    '--filter',
    `label=org.openstack.nova.instance-uuid=${serverId}`,
    '--format',
    '{{.Names}}',
  ]);
  return out.split('\n').filter(Boolean).sort();
}
