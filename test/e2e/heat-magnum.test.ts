// Heat's own OS::Magnum::ClusterTemplate and OS::Magnum::Cluster, unchanged,
// against Berth's cluster-service registered as `container-infra`: the
// example heat-resources/examples/cluster.yaml as a project member runs it.
// The nodes boot from a busybox image (os_distro=berth-swarm-node): Nova
// servers come up, but busybox cannot run the swarm bootstrap, so the cluster
// stays CREATE_IN_PROGRESS ("waiting for nodes"); a cluster reaching
// CREATE_COMPLETE needs a real node image (cluster-service's suites).
import { join } from 'node:path';

import { nodeImageAndFlavor } from '../support/cluster-service';
import { EXAMPLES, HeatFixture } from '../support/heat-fixture';
import { uniqueName } from '../support/keystone-fixture';
import { CliError, openstack, waitFor } from '../support/openstack-cli';

jest.setTimeout(600_000);

const f = new HeatFixture();
let node: Awaited<ReturnType<typeof nodeImageAndFlavor>>;
let externalNetwork: string;
beforeAll(async () => {
  await f.setUp();
  node = await nodeImageAndFlavor(f.dir);
  externalNetwork = uniqueName('ext');
  await openstack(f.a.creds, ['network', 'create', externalNetwork, '-f', 'json']);
}, 300_000);
afterAll(async () => {
  await f.tearDown();
  await node?.remove();
}, 600_000);

interface Cluster {
  uuid: string;
  status: string;
  status_reason: string | null;
  node_count: number;
  master_count: number;
  cluster_template_id: string;
  create_timeout: number;
}

describe('OS::Magnum::* against cluster-service', () => {
  const name = uniqueName('cluster');
  let clusterId: string;
  let templateId: string;

  it('creates the cluster template and the cluster, whose nodes boot as Nova servers', async () => {
    await f.create(f.a, name, join(EXAMPLES, 'cluster.yaml'), {
      node_image: node.image,
      external_network: externalNetwork,
      flavor: node.flavor,
      node_count: 1,
      create_timeout: 10,
    });
    const cluster = await waitFor(
      'the cluster resource to start',
      async () => {
        const r = await f.resource(f.a, name, 'cluster');
        if (r.resource_status === 'CREATE_FAILED') throw new Error(r.resource_status_reason);
        return r.physical_resource_id ? r : undefined;
      },
      120_000,
    );
    clusterId = cluster.physical_resource_id;
    const tpl = await f.resource(f.a, name, 'template');
    expect(tpl.resource_status).toBe('CREATE_COMPLETE');
    templateId = tpl.physical_resource_id;

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
      status: 'CREATE_IN_PROGRESS',
      node_count: 1,
      master_count: 1,
      cluster_template_id: templateId,
      create_timeout: 10,
    });
    // Heat keeps polling while cluster-service waits for the nodes, which are the project's servers
    const servers = await waitFor(
      'the nodes as servers',
      async () => {
        const list = await openstack<Array<{ Name: string; Status: string }>>(f.a.creds, [
          'server',
          'list',
          '-f',
          'json',
        ]);
        const nodes = list.filter((s) => s.Name.includes(clusterId.slice(0, 8)));
        return nodes.length === 2 ? nodes : undefined;
      },
      120_000,
      2000,
    );
    expect(servers.map((s) => s.Name.replace(/.*-(master|node)-(\d+)$/, '$1-$2')).sort()).toEqual([
      'master-0',
      'node-0',
    ]);
    expect((await f.resource(f.a, name, 'cluster')).resource_status).toBe('CREATE_IN_PROGRESS');
    const latest = await openstack<Cluster>(f.a.creds, ['coe', 'cluster', 'show', clusterId, '-f', 'json']);
    expect(latest.status_reason ?? '').toMatch(/waiting for 2 node\(s\)/);
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
