import { defaultSpec } from './container-spec';
import { checkIsolation, grantsFrom } from './isolation-policy';

describe('isolation policy', () => {
  const risky = () => ({
    ...defaultSpec(),
    privileged: true,
    capAdd: ['NET_ADMIN', 'SYS_ADMIN'],
    volumes: [{ hostPath: '/srv/data', target: '/data', readOnly: false }],
    hostNetwork: true,
    nestedDocker: true,
  });

  it('allows a plain spec with no grants', () => {
    expect(checkIsolation(defaultSpec(), grantsFrom({}, {}))).toEqual([]);
  });

  it('refuses each risky request, naming the grant it needs', () => {
    const r = checkIsolation(risky(), grantsFrom({}, {}));
    expect(r).toHaveLength(5);
    expect(r[0]).toBe(
      'privileged: true needs the admin grant berth:allow_privileged=... on the flavor or berth_allow_privileged on the image',
    );
    expect(r[1]).toContain('cap_add NET_ADMIN,SYS_ADMIN');
    expect(r[2]).toContain('host_path /srv/data needs the admin grant berth:allowed_host_paths');
  });

  it('honours flavor extra specs and image properties', () => {
    const g = grantsFrom(
      {
        'berth:allow_privileged': 'True',
        'berth:allowed_capabilities': 'NET_ADMIN',
        'berth:allow_host_network': 'yes',
      },
      {
        berth_allowed_capabilities: 'CAP_SYS_ADMIN',
        berth_allowed_host_paths: '/srv',
        berth_allow_nested_docker: 'true',
      },
    );
    expect(checkIsolation(risky(), g)).toEqual([]);
  });

  it('matches host path prefixes on path boundaries only', () => {
    const g = grantsFrom({ 'berth:allowed_host_paths': '/srv' }, {});
    const spec = { ...defaultSpec(), volumes: [{ hostPath: '/srvx', target: '/d', readOnly: true }] };
    expect(checkIsolation(spec, g)).toHaveLength(1);
  });

  it('does not take a grant from a false value', () => {
    expect(checkIsolation(risky(), grantsFrom({ 'berth:allow_privileged': 'false' }, {}))[0]).toContain(
      'privileged',
    );
  });
});
