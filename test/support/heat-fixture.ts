// What the Heat end-to-end suites need: two projects with a member user each
// (the second for isolation checks), the busybox image in each, flavors of
// our own, and stack helpers over the real openstack CLI (python-heatclient)
// as those users run it. Everything is removed afterwards: stacks first,
// then whatever a failed stack left (servers, networks), then images,
// flavors, users and projects.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { KeystoneFixture, uniqueName } from './keystone-fixture';
import { busyboxTarball } from './nova-fixture';
import { createFlavor } from './openstack-resources';
import { adminCredentials, type Credentials, openstack, run, waitFor } from './openstack-cli';

export const HEAT_RESOURCES_URL = process.env.BERTH_HEAT_RESOURCES_URL ?? 'http://127.0.0.1:8788';
export const EXAMPLES = join(__dirname, '..', '..', 'heat-resources', 'examples');

export interface StackInfo {
  id: string;
  stack_name: string;
  stack_status: string;
  stack_status_reason: string;
  outputs?: Array<{ output_key: string; output_value: unknown }>;
}

export interface StackResource {
  resource_name: string;
  physical_resource_id: string;
  resource_type: string;
  resource_status: string;
  resource_status_reason: string;
}

export interface Tenant {
  creds: Credentials;
  projectId: string;
  userId: string;
  imageId: string;
}

export class HeatFixture {
  readonly keystone = new KeystoneFixture();
  readonly dir = mkdtempSync(join(tmpdir(), 'berth-heat-e2e-'));
  a!: Tenant;
  b!: Tenant;
  /** 128 MiB / 1 vCPU and 256 MiB / 1 vCPU, public */
  flavors: { small: string; medium: string } = { small: '', medium: '' };
  private madeFlavors: string[] = [];
  private images: string[] = [];
  private tarball = '';

  async setUp(): Promise<void> {
    this.tarball = await busyboxTarball(this.dir);
    this.a = await this.tenant('heat-a');
    this.b = await this.tenant('heat-b');
    this.flavors.small = await this.makeFlavor(128, 1);
    this.flavors.medium = await this.makeFlavor(256, 1);
  }

  private async tenant(prefix: string): Promise<Tenant> {
    const project = await this.keystone.project(prefix);
    const user = await this.keystone.user(prefix);
    await this.keystone.grantProject(user.id, project.id, 'member');
    const creds = { username: user.name, password: user.password, projectName: project.name };
    const img = await openstack<{ id: string }>(creds, [
      'image',
      'create',
      '--container-format',
      'docker',
      '--disk-format',
      'raw',
      '--file',
      this.tarball,
      uniqueName('busybox'),
      '-f',
      'json',
    ]);
    this.images.push(img.id);
    return { creds, projectId: project.id, userId: user.id, imageId: img.id };
  }

  async makeFlavor(ram: number, vcpus: number, extraSpecs: Record<string, string> = {}): Promise<string> {
    const name = await createFlavor('heat-fl', ram, vcpus, extraSpecs);
    this.madeFlavors.push(name);
    return name;
  }

  /** writes a template into the fixture's directory; returns its path */
  template(body: string): string {
    const file = join(this.dir, `${uniqueName('tpl')}.yaml`);
    writeFileSync(file, body);
    return file;
  }

  private params(p: Record<string, string | number>): string[] {
    return Object.entries(p).flatMap(([k, v]) => ['--parameter', `${k}=${v}`]);
  }

  /** `openstack stack create` (no --wait); the CLI's error (validation) is thrown as CliError */
  async create(t: Tenant, name: string, template: string, params: Record<string, string | number> = {}) {
    return openstack<StackInfo>(t.creds, [
      'stack',
      'create',
      '-t',
      template,
      ...this.params(params),
      name,
      '-f',
      'json',
    ]);
  }

  async update(t: Tenant, name: string, template: string, params: Record<string, string | number> = {}) {
    return openstack<StackInfo>(t.creds, [
      'stack',
      'update',
      '-t',
      template,
      ...this.params(params),
      name,
      '-f',
      'json',
    ]);
  }

  /** the stack's status (outputs are not resolved: they are asked for one by one with output()) */
  show(t: Tenant, name: string): Promise<StackInfo> {
    return openstack<StackInfo>(t.creds, ['stack', 'show', '--no-resolve-outputs', name, '-f', 'json']);
  }

  /** polls until the stack leaves *_IN_PROGRESS; returns it */
  async settle(t: Tenant, name: string, timeoutMs = 240_000): Promise<StackInfo> {
    return waitFor(
      `stack ${name} to settle`,
      async () => {
        const s = await this.show(t, name);
        return s.stack_status.endsWith('_IN_PROGRESS') ? undefined : s;
      },
      timeoutMs,
      1000,
    );
  }

  resources(t: Tenant, name: string): Promise<StackResource[]> {
    return openstack<StackResource[]>(t.creds, ['stack', 'resource', 'list', name, '-f', 'json']);
  }

  async resource(t: Tenant, stack: string, resource: string): Promise<StackResource> {
    return openstack<StackResource>(t.creds, ['stack', 'resource', 'show', stack, resource, '-f', 'json']);
  }

  async output<T = unknown>(t: Tenant, stack: string, key: string): Promise<T> {
    const o = await openstack<{ output_value: T }>(t.creds, [
      'stack',
      'output',
      'show',
      stack,
      key,
      '-f',
      'json',
    ]);
    return o.output_value;
  }

  async action(t: Tenant, action: 'suspend' | 'resume' | 'check', name: string): Promise<StackInfo> {
    await openstack(t.creds, ['stack', action, name]);
    return this.settle(t, name);
  }

  /** deletes and waits until Heat no longer lists the stack */
  async delete(t: Tenant, name: string): Promise<void> {
    await openstack(t.creds, ['stack', 'delete', '--yes', name]).catch(() => undefined);
    await waitFor(
      `stack ${name} to go`,
      async () => {
        const list = await openstack<Array<{ 'Stack Name': string; 'Stack Status': string }>>(t.creds, [
          'stack',
          'list',
          '-f',
          'json',
        ]);
        const s = list.find((x) => x['Stack Name'] === name);
        if (!s) return true;
        if (s['Stack Status'] === 'DELETE_FAILED') throw new Error(`stack ${name} DELETE_FAILED`);
        return undefined;
      },
      240_000,
      1500,
    );
  }

  /** a Keystone token of the tenant's user, for calling the heat-resources API directly */
  async token(t: Tenant): Promise<string> {
    return (await openstack<string>(t.creds, ['token', 'issue', '-f', 'value', '-c', 'id'])).trim();
  }

  async tearDown(): Promise<void> {
    for (const t of [this.a, this.b]) {
      if (!t) continue;
      const stacks = await openstack<Array<{ 'Stack Name': string }>>(t.creds, [
        'stack',
        'list',
        '-f',
        'json',
      ]).catch(() => []);
      for (const s of stacks) await this.delete(t, s['Stack Name']).catch(() => undefined);
      const servers = await openstack<Array<{ ID: string }>>(adminCredentials, [
        'server',
        'list',
        '--all-projects',
        '--project',
        t.projectId,
        '-f',
        'json',
      ]).catch(() => []);
      for (const s of servers)
        await openstack(adminCredentials, ['server', 'delete', '--wait', s.ID]).catch(() => undefined);
      const nets = await openstack<Array<{ ID: string }>>(adminCredentials, [
        'network',
        'list',
        '--project',
        t.projectId,
        '-f',
        'json',
      ]).catch(() => []);
      for (const n of nets)
        await openstack(adminCredentials, ['network', 'delete', n.ID]).catch(() => undefined);
    }
    for (const i of this.images)
      await openstack(adminCredentials, ['image', 'delete', i]).catch(() => undefined);
    for (const f of this.madeFlavors)
      await openstack(adminCredentials, ['flavor', 'delete', f]).catch(() => undefined);
    await this.keystone.cleanup();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** the ids of the docker containers (workload and sandbox) of a Nova server */
export async function dockerContainersOf(serverId: string): Promise<string[]> {
  const out = await run('docker', [
    'ps',
    '-a',
    '--filter',
    `label=org.openstack.nova.instance-uuid=${serverId}`,
    '--format',
    '{{.Names}}',
  ]);
  return out.split('\n').filter(Boolean);
}
