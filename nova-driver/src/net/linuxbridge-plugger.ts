/**
 * Wires Neutron ports into a server's sandbox, for the linuxbridge mechanism
 * driver (vif_type bridge), as os-vif and nova-docker did: a veth pair whose
 * host end is `tap<port id[:11]>` on the network's `brq<network id[:11]>`
 * bridge, and whose other end lives in the sandbox's network namespace with
 * the port's MAC, addresses, MTU and routes. Neutron's linuxbridge agent sees
 * the tap appear, applies the security groups (iptables on the tap) and marks
 * the port ACTIVE, which Nova hears as network-vif-plugged. The agent never
 * puts taps of `compute:*` ports on the bridge itself: that is our job.
 * Every step is idempotent: plugging again (Nova does at every nova-compute
 * start) repairs what is missing and changes nothing else.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import type { Logger } from '@berth/service-kit';

import type { ContainerDetails } from '../docker/engine';
import type { VifPlugger } from '../instances/instance-manager';
import { parseVifs, tapName, Vif, VifError } from './vif';

/** runs `ip` (and `nsenter`); replaceable in unit tests */
export type Run = (cmd: string, args: string[]) => Promise<string>;

const execFileP = promisify(execFile);
export const runCommand: Run = async (cmd, args) => {
  try {
    return (await execFileP(cmd, args, { timeout: 30_000 })).stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new VifError(`${cmd} ${args.join(' ')}: ${(err.stderr || err.message).trim()}`);
  }
};

export class LinuxBridgePlugger implements VifPlugger {
  constructor(
    private readonly logger: Logger,
    private readonly run: Run = runCommand,
  ) {}

  private ns(pid: number, ...args: string[]): Promise<string> {
    return this.run('nsenter', ['-t', String(pid), '-n', 'ip', ...args]);
  }

  private async linkExists(name: string): Promise<boolean> {
    try {
      await this.run('ip', ['link', 'show', 'dev', name]);
      return true;
    } catch {
      return false;
    }
  }

  /** interface names and MACs inside the namespace */
  private async nsLinks(pid: number): Promise<{ name: string; mac: string }[]> {
    const out = await this.ns(pid, '-o', 'link', 'show');
    return [...out.matchAll(/^\d+: ([^:@]+)[^\n]*link\/ether ([0-9a-f:]{17})/gm)].map((m) => ({
      name: m[1]!,
      mac: m[2]!,
    }));
  }

  async plug(uuid: string, sandbox: ContainerDetails, networkInfo: unknown[]): Promise<void> {
    const vifs = parseVifs(networkInfo);
    if (!vifs.length) return;
    const pid = sandbox.state.pid;
    if (!pid) throw new VifError(`the sandbox of ${uuid} is not running: nothing to plug into`);
    await this.ns(pid, 'link', 'set', 'lo', 'up');
    for (const vif of vifs) await this.plugOne(pid, vif, uuid);
  }

  /** one port; also used for hot-plug (attach_interface) */
  async plugOne(pid: number, vif: Vif, uuid: string): Promise<void> {
    const inside = await this.nsLinks(pid);
    const present = inside.find((l) => l.mac === vif.mac.toLowerCase());
    if (!present || !(await this.linkExists(vif.tap))) {
      // a half-made pair (agent killed mid-plug) or a pair lost with an old namespace: start over
      if (await this.linkExists(vif.tap)) await this.run('ip', ['link', 'del', 'dev', vif.tap]);
      const peer = `ns${vif.portId.slice(0, 11)}`;
      if (await this.linkExists(peer)) await this.run('ip', ['link', 'del', 'dev', peer]);
      const dev = nextEth(inside.map((l) => l.name));
      await this.run('ip', [
        'link',
        'add',
        vif.tap,
        'mtu',
        String(vif.mtu),
        'type',
        'veth',
        'peer',
        'name',
        peer,
        'mtu',
        String(vif.mtu),
      ]);
      await this.run('ip', ['link', 'set', peer, 'netns', String(pid)]);
      await this.ns(pid, 'link', 'set', peer, 'name', dev);
      await this.ns(pid, 'link', 'set', dev, 'address', vif.mac);
      for (const a of vif.addresses) {
        await this.ns(
          pid,
          ...(a.version === 6 ? ['-6'] : []),
          'addr',
          'replace',
          `${a.address}/${a.prefix}`,
          'dev',
          dev,
          ...(a.version === 6 ? ['nodad'] : []),
        );
      }
      await this.ns(pid, 'link', 'set', dev, 'up');
      // the first port with a gateway gives the default route (a second network stays on-link only)
      const routes = await this.ns(pid, 'route', 'show', 'default');
      const gw4 = vif.gateways.find((g) => g.version === 4);
      if (gw4 && !routes.trim())
        await this.ns(pid, 'route', 'replace', 'default', 'via', gw4.address, 'dev', dev);
      const gw6 = vif.gateways.find((g) => g.version === 6);
      if (gw6)
        await this.ns(pid, '-6', 'route', 'replace', 'default', 'via', gw6.address, 'dev', dev).catch(
          () => undefined,
        );
      this.logger.info(
        { instance_uuid: uuid, port_id: vif.portId, dev, tap: vif.tap, bridge: vif.bridge },
        'plugged port',
      );
    }
    await this.ensureBridge(vif.bridge);
    await this.run('ip', ['link', 'set', vif.tap, 'master', vif.bridge]);
    await this.run('ip', ['link', 'set', vif.tap, 'up']);
  }

  /** the bridge Neutron's agent also manages (it adopts one we create first) */
  private async ensureBridge(bridge: string): Promise<void> {
    if (await this.linkExists(bridge)) return;
    try {
      await this.run('ip', ['link', 'add', bridge, 'type', 'bridge']);
    } catch (e) {
      // the linuxbridge agent may have created it meanwhile
      if (!(await this.linkExists(bridge))) throw e;
    }
    await this.run('ip', ['link', 'set', bridge, 'up']);
  }

  async unplug(_uuid: string, networkInfo: unknown[]): Promise<void> {
    for (const raw of networkInfo) {
      const id = (raw as { id?: string }).id;
      if (typeof id !== 'string') continue;
      await this.unplugPort(id, (raw as { devname?: string }).devname);
    }
  }

  /** deleting the host end removes the pair, the end in the namespace included */
  async unplugPort(portId: string, devname?: string): Promise<void> {
    const tap = devname || tapName(portId);
    if (await this.linkExists(tap)) {
      await this.run('ip', ['link', 'del', 'dev', tap]);
      this.logger.info({ port_id: portId, tap }, 'unplugged port');
    }
  }
}

function nextEth(names: string[]): string {
  for (let i = 0; ; i++) if (!names.includes(`eth${i}`)) return `eth${i}`;
}
