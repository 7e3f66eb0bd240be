// When Berth's heat-resources service is down, Heat fails the resource with
// the reason and carries on: heat-engine keeps running (same process) and
// serves other stacks; once the service is back, the failed stack is updated
// (Heat replaces the failed resource) or deleted without leaving anything.
// The service is stopped through its own pid file and brought back with
// `berth-aio restart berth-heat-resources`.
import { readFileSync } from 'node:fs';

import { HEAT_RESOURCES_URL, HeatFixture } from '../support/heat-fixture';
import { uniqueName } from '../support/keystone-fixture';
import { inspectContainer } from '../support/nova-fixture';
import { adminCredentials, aio, CliError, openstack, waitFor } from '../support/openstack-cli';

jest.setTimeout(600_000);

const f = new HeatFixture();
beforeAll(() => f.setUp(), 300_000);
afterAll(async () => {
  await aio('restart', 'berth-heat-resources').catch(() => undefined);
  await f.tearDown();
}, 600_000);

const RUN = process.env.AIO_RUN ?? '/run/berth-aio';
const pidOf = (name: string) => Number(readFileSync(`${RUN}/${name}.pid`, 'utf8').trim());

async function stopService(): Promise<void> {
  // start_bg runs it in its own session: TERM the whole group
  process.kill(-pidOf('berth-heat-resources'), 'SIGTERM');
  await waitFor(
    'heat-resources to stop answering',
    () =>
      fetch(`${HEAT_RESOURCES_URL}/healthcheck`).then(
        () => undefined,
        () => true,
      ),
    30_000,
    250,
  );
}

async function engineHealthy(): Promise<void> {
  const services = await openstack<Array<{ Binary: string; Status: string }>>(adminCredentials, [
    'orchestration',
    'service',
    'list',
    '-f',
    'json',
  ]);
  expect(services.filter((s) => s.Binary === 'heat-engine').map((s) => s.Status)).toContain('up');
  const plain = uniqueName('plain');
  await f.create(
    f.a,
    plain,
    f.template(
      'heat_template_version: 2021-04-16\nresources:\n  r: {type: OS::Heat::RandomString}\noutputs:\n  v: {value: {get_resource: r}}\n',
    ),
  );
  expect((await f.settle(f.a, plain)).stack_status).toBe('CREATE_COMPLETE');
  await f.delete(f.a, plain);
}

const template = () =>
  f.template(`heat_template_version: 2021-04-16
resources:
  c:
    type: OS::Container::Container
    properties: {image: ${f.a.imageId}, flavor: ${f.flavors.small}}
outputs:
  id: {value: {get_resource: c}}
`);

describe('heat-resources down', () => {
  it('fails the resource being created with the reason; heat-engine stays up and serves other stacks', async () => {
    const engine = pidOf('heat-engine');
    const tpl = template();
    const name = uniqueName('down');
    await stopService();
    try {
      await f.create(f.a, name, tpl);
      const s = await f.settle(f.a, name);
      expect(s.stack_status).toBe('CREATE_FAILED');
      const r = await f.resource(f.a, name, 'c');
      expect(r.resource_status).toBe('CREATE_FAILED');
      expect(r.resource_status_reason).toMatch(
        /Berth heat-resources is unreachable \(POST \/v1\/containers\)/,
      );
      await engineHealthy();
      expect(pidOf('heat-engine')).toBe(engine);
    } finally {
      await aio('restart', 'berth-heat-resources');
    }
    // back: the same stack converges (Heat replaces the failed resource on update)
    await f.update(f.a, name, tpl);
    const s = await f.settle(f.a, name);
    expect(`${s.stack_status} ${s.stack_status_reason}`).toMatch(/^UPDATE_COMPLETE/);
    const id = await f.output<string>(f.a, name, 'id');
    expect((await inspectContainer(id)).State.Running).toBe(true);
    await f.delete(f.a, name);
  });

  it('fails a delete while down, and deletes everything once it is back', async () => {
    const name = uniqueName('down-del');
    await f.create(f.a, name, template());
    expect((await f.settle(f.a, name)).stack_status).toBe('CREATE_COMPLETE');
    const id = await f.output<string>(f.a, name, 'id');
    await stopService();
    try {
      await openstack(f.a.creds, ['stack', 'delete', '--yes', name]);
      const s = await f.settle(f.a, name);
      expect(s.stack_status).toBe('DELETE_FAILED');
      expect(s.stack_status_reason).toMatch(/Berth heat-resources is unreachable/);
      // the container was not touched
      expect((await inspectContainer(id)).State.Running).toBe(true);
      await engineHealthy();
    } finally {
      await aio('restart', 'berth-heat-resources');
    }
    await f.delete(f.a, name);
    const gone = await openstack(adminCredentials, ['server', 'show', id]).catch((e: unknown) => e);
    expect((gone as CliError).stderr).toMatch(/No server with a name or ID/);
  });
});
