/**
 * The VIFs Nova hands the driver: nova.network.model.NetworkInfo as JSON
 * (`json.loads(network_info.json())` in the shim), reduced to what plugging
 * needs. Parsing is strict: a VIF we cannot wire fails the spawn clearly.
 */
export interface Vif {
  portId: string;
  mac: string;
  /** host side of the veth pair: tap<port id[:11]>, as Nova and Neutron name it */
  tap: string;
  bridge: string;
  networkId: string;
  mtu: number;
  type: string;
  addresses: { address: string; prefix: number; version: 4 | 6 }[];
  gateways: { address: string; version: 4 | 6 }[];
  dns: string[];
}

interface RawIp {
  address: string;
  version?: number;
}
interface RawSubnet {
  cidr: string;
  ips?: RawIp[];
  gateway?: { address?: string | null; version?: number } | null;
  dns?: { address: string }[];
  version?: number;
}
interface RawVif {
  id: string;
  address: string;
  type?: string;
  devname?: string;
  network?: { id: string; bridge?: string | null; subnets?: RawSubnet[]; meta?: { mtu?: number | null } };
}

export class VifError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VifError';
  }
}

export const tapName = (portId: string) => `tap${portId.slice(0, 11)}`;
export const bridgeName = (networkId: string) => `brq${networkId.slice(0, 11)}`;

export function parseVifs(networkInfo: unknown[]): Vif[] {
  return networkInfo.map((raw) => parseVif(raw as RawVif));
}

export function parseVif(v: RawVif): Vif {
  if (!v || typeof v.id !== 'string' || typeof v.address !== 'string' || !v.network?.id) {
    throw new VifError('a VIF in network_info has no id, MAC or network');
  }
  if (v.type && v.type !== 'bridge') {
    throw new VifError(
      `VIF ${v.id} has type ${v.type}: this host wires linuxbridge ports (vif_type bridge) only`,
    );
  }
  const addresses: Vif['addresses'] = [];
  const gateways: Vif['gateways'] = [];
  const dns: string[] = [];
  for (const s of v.network.subnets ?? []) {
    const prefix = Number(s.cidr.split('/')[1]);
    const version = (s.version ?? (s.cidr.includes(':') ? 6 : 4)) as 4 | 6;
    for (const ip of s.ips ?? []) addresses.push({ address: ip.address, prefix, version });
    if (s.gateway?.address) gateways.push({ address: s.gateway.address, version });
    for (const d of s.dns ?? []) if (!dns.includes(d.address)) dns.push(d.address);
  }
  return {
    portId: v.id,
    mac: v.address,
    tap: v.devname || tapName(v.id),
    bridge: v.network.bridge || bridgeName(v.network.id),
    networkId: v.network.id,
    mtu: v.network.meta?.mtu || 1500,
    type: v.type ?? 'bridge',
    addresses,
    gateways,
    dns,
  };
}
