import { KeystoneSession, PasswordAuth } from 'keystone-client-ts';

import { FakeKeystone } from '../../../libs/keystone-client-ts/src/testing/fake-keystone';
import type { FakeRequest } from '../../../libs/keystone-client-ts/src/testing/fake-http';
import { context } from '../testing/fakes';
import { callerClients } from './clients';

describe('callerClients', () => {
  it("sends the caller's token as is (a trust-scoped token cannot be exchanged), at the service catalog's endpoints", async () => {
    const ks = new FakeKeystone();
    const seen: FakeRequest[] = [];
    ks.serviceHandler = (req) => {
      seen.push(req);
      return { status: 200, data: { server: { id: 's1' }, images: [] } };
    };
    const service = new KeystoneSession({
      authUrl: 'http://keystone.example/v3',
      auth: new PasswordAuth({
        username: 'svc',
        userDomainName: 'Default',
        password: 'p',
        scope: { projectId: 'service' },
      }),
      adapter: ks.adapter,
    });
    let now = 0;
    const factory = callerClients(
      service,
      {
        computeInterface: 'public',
        networkInterface: 'public',
        imageInterface: 'public',
        endpointTtlMs: 1000,
        adapter: ks.adapter,
      },
      () => now,
    );
    const caller = context('p1', {
      token: 'trust-scoped-token',
      trust: { id: 't1', impersonation: true, trusteeUserId: 'heat', trustorUserId: 'u1' },
    });
    const clients = await factory(caller, 'req-00000000-0000-0000-0000-000000000001');
    await clients.nova.findServer('s1');
    await clients.glance.listImages({ name: 'busybox' });
    expect(seen.map((r) => r.headers['x-auth-token'])).toEqual(['trust-scoped-token', 'trust-scoped-token']);
    expect(seen[0]!.url).toBe('http://nova.example/v2.1/servers/s1');
    expect(seen[0]!.headers['openstack-api-version']).toBe('compute 2.61');
    expect(seen[0]!.headers['x-openstack-request-id']).toBe('req-00000000-0000-0000-0000-000000000001');
    expect(seen[1]!.url).toMatch(/^http:\/\/glance\.example\/v2\/images\?/);
    // only the service's own token was ever issued: the caller's was never exchanged
    expect(ks.authBodies).toHaveLength(1);
    expect(JSON.stringify(ks.authBodies)).not.toContain('trust-scoped-token');
    // endpoints are looked up once per TTL, not per request
    await factory(context('p2'));
    now = 2000;
    await factory(context('p2'));
    expect(ks.authBodies).toHaveLength(1);
    // the fake catalog has no Neutron: its client fails with the catalog's reason, the others work
    await expect(clients.neutron.listNetworks()).rejects.toThrow(
      /no endpoint in the service catalog for type=network/,
    );
  });
});
