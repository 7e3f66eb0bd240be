// Address arithmetic for container networks: CIDRs, ranges and the
// allocation pools Neutron allocates from, with reserved addresses cut out
// of them. Addresses are bigints so IPv4 and IPv6 share one code path.
// Defaults follow Neutron (neutron/ipam/utils.py generate_pools): IPv4
// leaves out the network and broadcast addresses (for prefixes up to /30),
// IPv6 leaves out the subnet-router anycast address; the gateway is never
// in a pool.

import { isIP } from 'node:net';

export type IpVersion = 4 | 6;

export interface Cidr {
  version: IpVersion;
  first: bigint;
  last: bigint;
  prefix: number;
  /** normalised text, network address / prefix */
  text: string;
}

export interface Range {
  start: bigint;
  end: bigint;
}

export class AddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AddressError';
  }
}

export function parseIp(text: string): { version: IpVersion; value: bigint } {
  const v = isIP(text);
  if (v === 4) {
    return { version: 4, value: text.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n) };
  }
  if (v === 6) {
    let t = text;
    // an embedded IPv4 tail (::ffff:1.2.3.4) becomes two hextets
    const m = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(t);
    if (m) {
      const tail = parseIp(m[2]!).value;
      t = `${m[1]}${(tail >> 16n).toString(16)}:${(tail & 0xffffn).toString(16)}`;
    }
    const [head = '', rest] = t.split('::');
    const h = head ? head.split(':') : [];
    const r = rest !== undefined && rest !== '' ? rest.split(':') : [];
    const groups = rest === undefined ? h : [...h, ...Array<string>(8 - h.length - r.length).fill('0'), ...r];
    return { version: 6, value: groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n) };
  }
  throw new AddressError(`${text} is not an IP address`);
}

export function formatIp(value: bigint, version: IpVersion): string {
  if (version === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) =>
    ((value >> BigInt((7 - i) * 16)) & 0xffffn).toString(16),
  );
  // RFC 5952: the longest run (2+) of zero groups becomes ::
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.len && j - i >= 2) best = { at: i, len: j - i };
    i = j;
  }
  if (best.at < 0) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.len).join(':')}`;
}

export function parseCidr(text: string): Cidr {
  const [addr, bits, extra] = text.split('/');
  if (!addr || bits === undefined || extra !== undefined || !/^\d{1,3}$/.test(bits)) {
    throw new AddressError(`${text} is not a CIDR (address/prefix)`);
  }
  const ip = parseIp(addr);
  const width = ip.version === 4 ? 32 : 128;
  const prefix = Number(bits);
  if (prefix > width) throw new AddressError(`${text}: the prefix is longer than ${width} bits`);
  const hostBits = BigInt(width - prefix);
  const first = (ip.value >> hostBits) << hostBits;
  const last = first + (1n << hostBits) - 1n;
  return { version: ip.version, first, last, prefix, text: `${formatIp(first, ip.version)}/${prefix}` };
}

/** An address of the CIDR's version inside it, or an error naming `what`. */
export function addressIn(cidr: Cidr, text: string, what: string): bigint {
  let ip;
  try {
    ip = parseIp(text);
  } catch {
    throw new AddressError(`${what} ${text} is not an IP address`);
  }
  if (ip.version !== cidr.version || ip.value < cidr.first || ip.value > cidr.last) {
    throw new AddressError(`${what} ${text} is not in ${cidr.text}`);
  }
  return ip.value;
}

/** Neutron's default pool: the CIDR minus network/broadcast (v4) or anycast (v6) addresses. */
export function defaultRange(c: Cidr): Range {
  if (c.first === c.last) return { start: c.first, end: c.last };
  if (c.version === 4)
    return c.prefix <= 30 ? { start: c.first + 1n, end: c.last - 1n } : { start: c.first, end: c.last };
  return { start: c.first + 1n, end: c.last };
}

/** The ranges minus the given addresses, in order, empty ranges dropped. */
export function subtract(ranges: Range[], holes: bigint[]): Range[] {
  let out = [...ranges].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  for (const h of holes) {
    out = out.flatMap((r) => {
      if (h < r.start || h > r.end) return [r];
      const parts: Range[] = [];
      if (h > r.start) parts.push({ start: r.start, end: h - 1n });
      if (h < r.end) parts.push({ start: h + 1n, end: r.end });
      return parts;
    });
  }
  return out;
}

export interface SubnetPlan {
  cidr: Cidr;
  /** undefined: Neutron's default (the first address); null: no gateway */
  gateway: string | null | undefined;
  /** undefined: Neutron's default pools */
  pools: Array<{ start: string; end: string }> | undefined;
  reserved: string[];
}

/**
 * Checks a network's address properties and works out the subnet's pools:
 * the given pools (or Neutron's default) minus the gateway and the reserved
 * addresses. Pools are left to Neutron when neither pools nor reserved
 * addresses are given.
 */
export function planSubnet(p: {
  cidr: string;
  gateway_ip?: string | undefined;
  allocation_pools?: Array<{ start: string; end: string }> | undefined;
  reserved_ips?: string[] | undefined;
}): SubnetPlan {
  const cidr = parseCidr(p.cidr);
  let gatewayValue: bigint | undefined;
  let gateway: string | null | undefined;
  if (p.gateway_ip === '') gateway = null;
  else if (p.gateway_ip !== undefined) {
    gatewayValue = addressIn(cidr, p.gateway_ip, 'gateway_ip');
    gateway = formatIp(gatewayValue, cidr.version);
  } else if (cidr.first !== cidr.last) {
    // Neutron's default gateway: the first host address
    gatewayValue = defaultRange(cidr).start;
  }
  const reserved = (p.reserved_ips ?? []).map((ip) => addressIn(cidr, ip, 'reserved address'));
  // an empty list is no list: Neutron's default pool
  const given = p.allocation_pools?.length
    ? p.allocation_pools.map((r, i) => {
        const start = addressIn(cidr, r.start, `allocation_pools[${i}].start`);
        const end = addressIn(cidr, r.end, `allocation_pools[${i}].end`);
        if (start > end) throw new AddressError(`allocation_pools[${i}] starts after it ends`);
        return { start, end };
      })
    : undefined;
  if (given) {
    const sorted = [...given].sort((a, b) => (a.start < b.start ? -1 : 1));
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]!.start <= sorted[i - 1]!.end) throw new AddressError('allocation_pools overlap');
    }
    if (
      gatewayValue !== undefined &&
      p.gateway_ip !== undefined &&
      given.some((r) => gatewayValue! >= r.start && gatewayValue! <= r.end)
    ) {
      throw new AddressError(`gateway_ip ${p.gateway_ip} is inside an allocation pool`);
    }
  }
  let pools: SubnetPlan['pools'];
  if (given || reserved.length) {
    const holes = gatewayValue !== undefined ? [...reserved, gatewayValue] : reserved;
    const left = subtract(given ?? [defaultRange(cidr)], holes);
    if (!left.length)
      throw new AddressError(
        'no address is left to allocate once the gateway and reserved addresses are cut out',
      );
    pools = left.map((r) => ({ start: formatIp(r.start, cidr.version), end: formatIp(r.end, cidr.version) }));
  }
  return { cidr, gateway, pools, reserved: reserved.map((r) => formatIp(r, cidr.version)) };
}

/**
 * The subnet's gateway and pools spelled out (nothing left to Neutron's
 * defaults), for updates: dropping an explicit gateway or pool on update
 * means going back to what Neutron would have chosen at create.
 */
export function explicitSubnet(p: Parameters<typeof planSubnet>[0]): {
  gateway: string | null;
  pools: Array<{ start: string; end: string }>;
} {
  const sp = planSubnet(p);
  const gateway =
    sp.gateway !== undefined
      ? sp.gateway
      : sp.cidr.first === sp.cidr.last
        ? null
        : formatIp(defaultRange(sp.cidr).start, sp.cidr.version);
  if (sp.pools) return { gateway, pools: sp.pools };
  const holes = gateway === null ? [] : [parseIp(gateway).value];
  const pools = subtract([defaultRange(sp.cidr)], holes).map((r) => ({
    start: formatIp(r.start, sp.cidr.version),
    end: formatIp(r.end, sp.cidr.version),
  }));
  return { gateway, pools };
}
