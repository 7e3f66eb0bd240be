import pino from 'pino';
import sinon from 'sinon';

import type { ContainerDetails } from '../docker/engine';
import { LinuxBridgePlugger, Run } from './linuxbridge-plugger';
import { parseVif, VifError } from './vif';

const vifJson = {
  id: '0123456789abcdef-port',
  address: 'fa:16:3e:00:00:01',
  type: 'bridge',
  devname: 'tap0123456789a',
  network: {
    id: 'abcdef012345-net',
    bridge: 'brqabcdef01234',
    meta: { mtu: 1450 },
    subnets: [
      {
        cidr: '10.0.0.0/24',
        version: 4,
        gateway: { address: '10.0.0.1', version: 4 },
        dns: [{ address: '10.0.0.2' }],
        ips: [{ address: '10.0.0.5', version: 4 }],
      },
    ],
  },
};
const sandbox = { state: { pid: 4242 } } as ContainerDetails;

/** a host where nothing exists yet: `ip link show` fails, the namespace has only lo */
function freshHost() {
  const calls: string[] = [];
  const run: Run = sinon.stub().callsFake(async (cmd: string, args: string[]) => {
    const line = `${cmd} ${args.join(' ')}`;
    calls.push(line);
    if (line.startsWith('ip link show dev')) throw new VifError('does not exist');
    if (line.includes('-o link show')) return '1: lo: <LOOPBACK> mtu 65536 link/loopback 00:00:00:00:00:00\n';
    return '';
  });
  return { calls, run };
}

describe('parseVif', () => {
  it('reads what plugging needs from Nova network_info', () => {
    expect(parseVif(vifJson)).toEqual({
      portId: vifJson.id,
      mac: 'fa:16:3e:00:00:01',
      tap: 'tap0123456789a',
      bridge: 'brqabcdef01234',
      networkId: 'abcdef012345-net',
      mtu: 1450,
      type: 'bridge',
      addresses: [{ address: '10.0.0.5', prefix: 24, version: 4 }],
      gateways: [{ address: '10.0.0.1', version: 4 }],
      dns: ['10.0.0.2'],
    });
  });

  it('derives tap and bridge names as Nova does, and refuses other VIF types', () => {
    const v = parseVif({
      ...vifJson,
      devname: undefined,
      network: { ...vifJson.network, bridge: null },
    } as never);
    expect(v.tap).toBe('tap0123456789a');
    expect(v.bridge).toBe('brqabcdef01234');
    expect(() => parseVif({ ...vifJson, type: 'ovs' })).toThrow('linuxbridge ports (vif_type bridge) only');
  });
});

describe('LinuxBridgePlugger', () => {
  it('wires a veth pair into the sandbox with MAC, address, MTU, route, and the tap on the bridge', async () => {
    const { calls, run } = freshHost();
    await new LinuxBridgePlugger(pino({ level: 'silent' }), run).plug('u1', sandbox, [vifJson]);
    expect(calls).toEqual(
      expect.arrayContaining([
        'ip link add tap0123456789a mtu 1450 type veth peer name ns0123456789a mtu 1450',
        'ip link set ns0123456789a netns 4242',
        'nsenter -t 4242 -n ip link set ns0123456789a name eth0',
        'nsenter -t 4242 -n ip link set eth0 address fa:16:3e:00:00:01',
        'nsenter -t 4242 -n ip addr replace 10.0.0.5/24 dev eth0',
        'nsenter -t 4242 -n ip link set eth0 up',
        'nsenter -t 4242 -n ip route replace default via 10.0.0.1 dev eth0',
        'ip link add brqabcdef01234 type bridge',
        'ip link set tap0123456789a master brqabcdef01234',
        'ip link set tap0123456789a up',
      ]),
    );
    // the bridge is created before the tap is put on it
    expect(calls.indexOf('ip link add brqabcdef01234 type bridge')).toBeLessThan(
      calls.indexOf('ip link set tap0123456789a master brqabcdef01234'),
    );
  });

  it('changes nothing inside a namespace that already has the port (re-plug at nova-compute start)', async () => {
    const calls: string[] = [];
    const run: Run = async (cmd, args) => {
      const line = `${cmd} ${args.join(' ')}`;
      calls.push(line);
      if (line.includes('-o link show'))
        return '7: eth0@if8: <UP> mtu 1450 link/ether fa:16:3e:00:00:01 brd ff:ff:ff:ff:ff:ff\n';
      return '';
    };
    await new LinuxBridgePlugger(pino({ level: 'silent' }), run).plug('u1', sandbox, [vifJson]);
    expect(calls.some((c) => c.includes('veth'))).toBe(false);
    expect(calls).toContain('ip link set tap0123456789a master brqabcdef01234');
  });

  it('unplugs by deleting the tap, and only if it exists', async () => {
    const { calls, run } = freshHost();
    await new LinuxBridgePlugger(pino({ level: 'silent' }), run).unplug('u1', [vifJson]);
    expect(calls.some((c) => c.startsWith('ip link del'))).toBe(false);
    const present: string[] = [];
    await new LinuxBridgePlugger(pino({ level: 'silent' }), async (cmd, args) => {
      present.push(`${cmd} ${args.join(' ')}`);
      return '';
    }).unplug('u1', [vifJson]);
    expect(present).toContain('ip link del dev tap0123456789a');
  });

  it('refuses to plug into a stopped sandbox', async () => {
    const { run } = freshHost();
    await expect(
      new LinuxBridgePlugger(pino({ level: 'silent' }), run).plug(
        'u1',
        { state: { pid: 0 } } as ContainerDetails,
        [vifJson],
      ),
    ).rejects.toThrow('not running');
  });
});
