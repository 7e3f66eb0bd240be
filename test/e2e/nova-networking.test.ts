// Containers on real Neutron networks: ports bound by the real
// neutron-linuxbridge-agent, wired into each server's sandbox by Berth's agent,
// security groups enforced by Neutron's iptables firewall on the tap.
import { adminCredentials, CliError, openstack, run, waitFor } from '../support/openstack-cli';
import { inspectContainer, NovaFixture } from '../support/nova-fixture';
import { KeystoneSession, OpenStackHttpError, PasswordAuth } from 'keystone-client-ts';
import { NovaClient } from '@berth/openstack-clients';

import { testEnv } from '../support/env';
import { uniqueName } from '../support/keystone-fixture';
import { projectNetwork } from '../support/openstack-resources';

jest.setTimeout(600_000);

const f = new NovaFixture();
interface Port {
  id: string;
  mac_address: string;
  fixed_ips: { ip_address: string; subnet_id: string }[];
  status: string;
}
/** the first fixed IP of a server's first port */
const firstIp = async (serverId: string): Promise<string> => {
  const ip = (await portsOf(serverId))[0]?.fixed_ips[0]?.ip_address;
  if (!ip) throw new Error(`server ${serverId} has no fixed IP`);
  return ip;
};

const WEB = `#container-spec
command: ["/bin/sh", "-c", "echo hello-from-web > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"]
ports: [8080]
`;

const sh = (serverId: string, cmd: string) => run('docker', ['exec', `nova-${serverId}`, 'sh', '-c', cmd]);
// busybox-static's wget crashes on non-loopback fetches here; nc speaks the HTTP we need
const canFetch = async (from: string, ip: string) => {
  try {
    const out = await sh(from, `printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${ip} 8080`);
    return out.includes('hello-from-web');
  } catch {
    return false;
  }
};
const canPing = async (from: string, ip: string) => {
  try {
    await sh(from, `ping -c 2 -W 2 ${ip}`);
    return true;
  } catch {
    return false;
  }
};

const network = (name: string, cidr: string) => projectNetwork(f.user, name, cidr);
/** `openstack port list --long` rows, as the CLI names the columns */
interface PortRow {
  ID: string;
  'MAC Address': string;
  'Fixed IP Addresses': { ip_address: string; subnet_id: string }[];
  Status: string;
}
const portsOf = async (serverId: string): Promise<Port[]> =>
  (await openstack<PortRow[]>(f.user, ['port', 'list', '--server', serverId, '--long', '-f', 'json'])).map(
    (r) => ({
      id: r.ID,
      mac_address: r['MAC Address'],
      fixed_ips: r['Fixed IP Addresses'],
      status: r.Status,
    }),
  );
const tapOf = (portId: string) => `tap${portId.slice(0, 11)}`;
const linkExists = async (dev: string) =>
  run('ip', ['link', 'show', 'dev', dev]).then(
    () => true,
    () => false,
  );

let netA: string;
let netB: string;
let web: string;
let client: string;
let other: string;
let webIp: string;

beforeAll(async () => {
  await f.setUp();
  netA = await network('net-a', '10.61.0.0/24');
  netB = await network('net-b', '10.62.0.0/24');
}, 300_000);
afterAll(() => f.tearDown(), 300_000);

describe('containers on Neutron networks', () => {
  it('boot ACTIVE with the MAC and IP of their Neutron ports', async () => {
    web = (await f.boot({ network: netA, userData: WEB })).id;
    client = (await f.boot({ network: netA })).id;
    other = (await f.boot({ network: netB })).id;
    for (const id of [web, client, other]) await f.waitStatus(id, 'ACTIVE');
    for (const id of [web, client]) {
      const [port] = await portsOf(id);
      expect(port!.status).toBe('ACTIVE');
      const inside = await sh(id, 'ip -o addr show eth0; ip -o link show eth0');
      expect(inside).toContain(`inet ${await firstIp(id)}/24`);
      expect(inside).toContain(`link/ether ${port!.mac_address}`);
      expect(inside).toContain('mtu 1450');
    }
    webIp = await firstIp(web);
  });

  it('reach each other on one network, and not across networks', async () => {
    expect(await canPing(client, webIp)).toBe(true);
    expect(
      await waitFor(
        'the web server',
        async () => ((await canFetch(client, webIp)) ? true : undefined),
        30_000,
      ),
    ).toBe(true);
    expect(await canPing(other, webIp)).toBe(false);
  });

  it('obey security groups: a port closed without an ingress rule opens when one is added', async () => {
    const sg = await openstack<{ id: string }>(f.user, [
      'security',
      'group',
      'create',
      uniqueName('closed'),
      '-f',
      'json',
    ]);
    const [port] = await portsOf(web);
    await openstack(f.user, ['port', 'set', '--no-security-group', '--security-group', sg.id, port!.id]);
    await waitFor(
      '8080 closed',
      async () => ((await canFetch(client, webIp)) ? undefined : true),
      60_000,
      1000,
    );
    await openstack(f.user, [
      'security',
      'group',
      'rule',
      'create',
      '--ingress',
      '--protocol',
      'tcp',
      '--dst-port',
      '8080',
      sg.id,
      '-f',
      'json',
    ]);
    expect(
      await waitFor(
        '8080 open',
        async () => ((await canFetch(client, webIp)) ? true : undefined),
        60_000,
        1000,
      ),
    ).toBe(true);
    // ICMP has no rule: still blocked
    expect(await canPing(client, webIp)).toBe(false);
  });

  it('keep their address when the container restarts and when the agent restarts', async () => {
    const before = (await inspectContainer(web)).State.StartedAt;
    await openstack(f.user, ['server', 'reboot', web]);
    await waitFor(
      'a new start',
      async () => ((await inspectContainer(web)).State.StartedAt !== before ? true : undefined),
      120_000,
    );
    await f.waitStatus(web, 'ACTIVE');
    expect(await sh(web, 'ip -o addr show eth0')).toContain(`inet ${webIp}/24`);
    expect(
      await waitFor(
        'the web server after reboot',
        async () => ((await canFetch(client, webIp)) ? true : undefined),
        60_000,
      ),
    ).toBe(true);
    await run(`${__dirname}/../../devstack/aio/berth-aio`, ['restart', 'berth-nova-agent']);
    expect(await sh(web, 'ip -o addr show eth0')).toContain(`inet ${webIp}/24`);
    expect(await canFetch(client, webIp)).toBe(true);
  });

  it('hot-plug a port into a running server and remove it again', async () => {
    const port = await openstack<{ id: string; fixed_ips: { ip_address: string }[] }>(f.user, [
      'port',
      'create',
      '--network',
      netB,
      uniqueName('hot'),
      '-f',
      'json',
    ]);
    await openstack(f.user, ['server', 'add', 'port', client, port.id]);
    const ip = port.fixed_ips[0]!.ip_address;
    await waitFor(
      'eth1 in the container',
      async () => ((await sh(client, 'ip -o addr')).includes(`inet ${ip}/24`) ? true : undefined),
      60_000,
    );
    expect(await canPing(client, await firstIp(other))).toBe(true);
    await openstack(f.user, ['server', 'remove', 'port', client, port.id]);
    await waitFor(
      'eth1 gone',
      async () => ((await sh(client, 'ip -o addr')).includes(ip) ? undefined : true),
      60_000,
    );
    expect(await linkExists(tapOf(port.id))).toBe(false);
    // detached, the port is the user's again (Nova deletes only ports it made): back to unbound
    const detached = await openstack<{ device_id: string }>(f.user, ['port', 'show', port.id, '-f', 'json']);
    expect(detached.device_id).toBe('');
    await openstack(f.user, ['port', 'delete', port.id]);
  });

  it('leave no tap, no bridge port and no Neutron port behind on delete', async () => {
    const ports = (await Promise.all([web, client, other].map(portsOf))).flat();
    expect(ports).toHaveLength(3);
    for (const id of [web, client, other]) await openstack(f.user, ['server', 'delete', '--wait', id]);
    for (const p of ports) {
      expect(await linkExists(tapOf(p.id))).toBe(false);
      await expect(openstack(f.user, ['port', 'show', p.id, '-f', 'json'])).rejects.toBeInstanceOf(CliError);
    }
    const bridgePorts = await run('bridge', ['link', 'show']);
    for (const p of ports) expect(bridgePorts).not.toContain(tapOf(p.id));
  });

  it("refuse a port on a network the project may not use, with Nova's reason", async () => {
    const foreign = await openstack<{ id: string }>(adminCredentials, [
      'network',
      'create',
      uniqueName('admin-only'),
      '-f',
      'json',
    ]);
    try {
      // straight to Nova's API: the CLI would refuse before asking Nova
      const nova = new NovaClient(
        new KeystoneSession({
          authUrl: testEnv.authUrl,
          auth: new PasswordAuth({
            username: f.user.username,
            userDomainName: 'Default',
            password: f.user.password,
            scope: { projectName: f.user.projectName, projectDomainName: 'Default' },
          }),
        }),
      );
      const err = await nova
        .createServer({
          name: uniqueName('foreign'),
          imageRef: f.imageId,
          flavorRef: await flavorId(),
          networks: [{ uuid: foreign.id }],
        })
        .catch((e) => e);
      expect(err).toBeInstanceOf(OpenStackHttpError);
      expect((err as OpenStackHttpError).status).toBe(400);
      expect((err as OpenStackHttpError).message).toBe(`Network ${foreign.id} could not be found.`);
    } finally {
      await openstack(adminCredentials, ['network', 'delete', foreign.id]);
    }
  });
});

const flavorId = async () =>
  (await openstack<{ id: string }>(adminCredentials, ['flavor', 'show', f.flavor, '-f', 'json'])).id;
