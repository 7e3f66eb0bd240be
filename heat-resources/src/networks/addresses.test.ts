import { explicitSubnet, formatIp, parseCidr, parseIp, planSubnet } from './addresses';

describe('address arithmetic', () => {
  it('parses and prints IPv4 and IPv6 addresses', () => {
    expect(formatIp(parseIp('10.1.2.3').value, 4)).toBe('10.1.2.3');
    expect(formatIp(parseIp('fd00::1').value, 6)).toBe('fd00::1');
    expect(formatIp(parseIp('fd00:0:0:1::').value, 6)).toBe('fd00:0:0:1::');
    expect(formatIp(parseIp('::ffff:10.0.0.1').value, 6)).toBe('::ffff:a00:1');
    expect(() => parseIp('10.0.0.300')).toThrow(/not an IP address/);
  });

  it('normalises CIDRs to their network address', () => {
    expect(parseCidr('10.1.2.3/24').text).toBe('10.1.2.0/24');
    expect(parseCidr('fd00:1::5/64').text).toBe('fd00:1::/64');
    expect(() => parseCidr('10.0.0.0/33')).toThrow(/longer than 32/);
    expect(() => parseCidr('10.0.0.0')).toThrow(/not a CIDR/);
  });
});

describe('planSubnet', () => {
  it('leaves pools to Neutron when neither pools nor reserved addresses are given', () => {
    expect(planSubnet({ cidr: '10.0.0.0/24' })).toMatchObject({
      gateway: undefined,
      pools: undefined,
      reserved: [],
    });
    expect(planSubnet({ cidr: '10.0.0.0/24', gateway_ip: '' }).gateway).toBeNull();
    expect(planSubnet({ cidr: '10.0.0.0/24', allocation_pools: [], reserved_ips: [] }).pools).toBeUndefined();
  });

  it('cuts reserved addresses and the default gateway out of the default pool', () => {
    const p = planSubnet({ cidr: '10.0.0.0/24', reserved_ips: ['10.0.0.10', '10.0.0.20'] });
    expect(p.pools).toEqual([
      { start: '10.0.0.2', end: '10.0.0.9' },
      { start: '10.0.0.11', end: '10.0.0.19' },
      { start: '10.0.0.21', end: '10.0.0.254' },
    ]);
  });

  it('cuts them out of given pools too, and keeps an explicit gateway out', () => {
    const p = planSubnet({
      cidr: '10.0.0.0/24',
      gateway_ip: '10.0.0.254',
      allocation_pools: [{ start: '10.0.0.100', end: '10.0.0.110' }],
      reserved_ips: ['10.0.0.100'],
    });
    expect(p.gateway).toBe('10.0.0.254');
    expect(p.pools).toEqual([{ start: '10.0.0.101', end: '10.0.0.110' }]);
  });

  it('works for IPv6 (no broadcast; the anycast address is out)', () => {
    const p = planSubnet({ cidr: 'fd00:9::/120', reserved_ips: ['fd00:9::5'] });
    expect(p.pools).toEqual([
      { start: 'fd00:9::2', end: 'fd00:9::4' },
      { start: 'fd00:9::6', end: 'fd00:9::ff' },
    ]);
  });

  it.each([
    [{ cidr: '10.0.0.0/24', gateway_ip: '10.0.1.1' }, /gateway_ip 10.0.1.1 is not in 10.0.0.0\/24/],
    [{ cidr: '10.0.0.0/24', reserved_ips: ['fd00::1'] }, /reserved address fd00::1 is not in/],
    [
      { cidr: '10.0.0.0/24', allocation_pools: [{ start: '10.0.0.9', end: '10.0.0.5' }] },
      /starts after it ends/,
    ],
    [
      {
        cidr: '10.0.0.0/24',
        allocation_pools: [
          { start: '10.0.0.2', end: '10.0.0.9' },
          { start: '10.0.0.5', end: '10.0.0.20' },
        ],
      },
      /overlap/,
    ],
    [
      {
        cidr: '10.0.0.0/24',
        gateway_ip: '10.0.0.5',
        allocation_pools: [{ start: '10.0.0.2', end: '10.0.0.9' }],
      },
      /inside an allocation pool/,
    ],
    [{ cidr: '10.0.0.0/30', reserved_ips: ['10.0.0.2'] }, /no address is left/],
  ])('refuses %j', (props, message) => {
    expect(() => planSubnet(props)).toThrow(message);
  });

  it('spells gateway and pools out for updates', () => {
    expect(explicitSubnet({ cidr: '10.0.0.0/24' })).toEqual({
      gateway: '10.0.0.1',
      pools: [{ start: '10.0.0.2', end: '10.0.0.254' }],
    });
    expect(explicitSubnet({ cidr: '10.0.0.0/24', gateway_ip: '' })).toEqual({
      gateway: null,
      pools: [{ start: '10.0.0.1', end: '10.0.0.254' }],
    });
  });
});
