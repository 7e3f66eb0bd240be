// Heat's own OS::Magnum::ClusterTemplate and OS::Magnum::Cluster, unchanged,
// against Berth's cluster-service registered as `container-infra`: the
// example heat-resources/examples/cluster.yaml, run by a project member, on
// the all-in-one's node image and flavor with the nodes on the provider
// network. Heat waits for the cluster: the stack is CREATE_COMPLETE once
// the Swarm formed, its outputs are the cluster's addresses, and deleting
// the stack removes the cluster, its servers and the template.
import { join } from 'node:path';

import { EXAMPLES, HeatFixture } from '../support/heat-fixture';
import { uniqueName } from '../support/keystone-fixture';
import { NODE_FLAVOR, NODE_IMAGE, PUBLIC_NETWORK } from '../support/node-image';
import { CliError, openstack } from '../support/openstack-cli';

jest.setTimeout(600_000);

const f = new HeatFixture();
beforeAll(async () => {
  await f.setUp();
}, 300_000);
afterAll(async () => {
  await f.tearDown();
}, 600_000);

interface Cluster {
  uuid: string;
  status: string;
  status_reason: string | null;
  node_count: number;
  master_count: number;
  cluster_template_id: string;
  create_timeout: number;
  api_address: string;
  master_addresses: string[];
  node_addresses: string[];
}

describe('OS::Magnum::* against cluster-service', () => {
  const name = uniqueName('cluster');
  let clusterId: string;
  let templateId: string;

  it('creates the template and the cluster; the stack completes when the Swarm has formed', async () => {
    const t0 = Date.now();
    await f.create(f.a, name, join(EXAMPLES, 'cluster.yaml'), {
      node_image: NODE_IMAGE,
      flavor: NODE_FLAVOR,
      external_network: PUBLIC_NETWORK,
      fixed_network: PUBLIC_NETWORK,
      node_count: 1,
      create_timeout: 10,
    });
    const stack = await f.settle(f.a, name, 480_000);
    console.log(`stack ${stack.stack_status} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect(stack).toMatchObject({ stack_status: 'CREATE_COMPLETE' });
    clusterId = (await f.resource(f.a, name, 'cluster')).physical_resource_id;
    templateId = (await f.resource(f.a, name, 'template')).physical_resource_id;

    const t = await openstack<Record<string, unknown>>(f.a.creds, [
      'coe',
      'cluster',
      'template',
      'show',
      templateId,
      '-f',
      'json',
    ]);
    expect(t).toMatchObject({
      coe: 'swarm',
      docker_storage_driver: 'overlay',
      server_type: 'vm',
      labels: { created_by: 'heat' },
    });
    const c = await openstack<Cluster>(f.a.creds, ['coe', 'cluster', 'show', clusterId, '-f', 'json']);
    expect(c).toMatchObject({
      status: 'CREATE_COMPLETE',
      node_count: 1,
      master_count: 1,
      cluster_template_id: templateId,
      create_timeout: 10,
    });
    // the outputs are the cluster's attributes, and the nodes are the project's servers
    expect(await f.output(f.a, name, 'api_address')).toBe(c.api_address);
    expect(await f.output(f.a, name, 'master_addresses')).toEqual(c.master_addresses);
    expect(await f.output(f.a, name, 'node_addresses')).toEqual(c.node_addresses);
    const servers = await openstack<
      Array<{ Name: string; Status: string; Networks: Record<string, string[]> }>
    >(f.a.creds, ['server', 'list', '-f', 'json']);
    const nodes = servers.filter((s) => s.Name.includes(clusterId.slice(0, 8)));
    expect(
      nodes.map((s) => `${s.Name.replace(/.*-(master|node)-(\d+)$/, '$1-$2')} ${s.Status}`).sort(),
    ).toEqual(['master-0 ACTIVE', 'node-0 ACTIVE']);
    const master = nodes.find((s) => s.Name.endsWith('-master-0'))!;
    expect(c.api_address).toBe(`tcp://${master.Networks[PUBLIC_NETWORK]![0]}:2376`);
  });

  it('deletes the cluster, its servers and the template with the stack', async () => {
    await f.delete(f.a, name);
    const cluster = await openstack(f.a.creds, ['coe', 'cluster', 'show', clusterId]).catch(
      (e: unknown) => e,
    );
    expect((cluster as CliError).stderr).toMatch(/could not be found/);
    const template = await openstack(f.a.creds, ['coe', 'cluster', 'template', 'show', templateId]).catch(
      (e: unknown) => e,
    );
    expect((template as CliError).stderr).toMatch(/could not be found/);
    const list = await openstack<Array<{ Name: string }>>(f.a.creds, ['server', 'list', '-f', 'json']);
    expect(list.filter((s) => s.Name.includes(clusterId.slice(0, 8)))).toEqual([]);
  });
});
