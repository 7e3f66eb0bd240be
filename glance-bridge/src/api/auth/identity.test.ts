import { KeystoneSession, PasswordAuth, TokenValidator } from 'keystone-client-ts';

import { FakeKeystone } from '../../../../libs/keystone-client-ts/src/testing/fake-keystone';
import { tokenBody, type FakeRequest } from '../../../../libs/keystone-client-ts/src/testing/fake-http';
import { InvalidCredentials, KeystoneIdentities } from './identity';

const HEX = 'a'.repeat(32);
const PROJECTS = [
  { id: 'p-dev', name: 'dev', domain_id: 'default' },
  { id: 'p-ops', name: 'ops', domain_id: 'default' },
  { id: 'p-dev2', name: 'dev', domain_id: 'other' },
];
const ROLES: Record<string, string[]> = {
  'p-dev': ['member', 'reader'],
  'p-ops': ['reader'],
  'p-dev2': ['member'],
};

/** A Keystone that knows alice (password pw, Default and domain "eng") and one application credential. */
function setup() {
  const ks = new FakeKeystone();
  const issue = (spec: Parameters<FakeKeystone['issue']>[0]) => {
    const token = ks.issue(spec);
    return { status: 201, data: ks.tokens.get(token), headers: { 'x-subject-token': token } };
  };
  ks.authOverride = (req: FakeRequest) => {
    interface AuthBody {
      identity: {
        methods: string[];
        password: { user: { id?: string; name?: string; password: string; domain?: { name?: string } } };
        application_credential: { secret: string };
      };
      scope?: { project?: { id: string } };
    }
    const auth = (req.body as { auth: AuthBody }).auth;
    const m = auth.identity.methods[0];
    if (m === 'password') {
      const u = auth.identity.password.user;
      if (u.id === 'svc') return issue({ userId: 'svc', projectId: 'service', roles: ['admin'] });
      const known =
        (u.name === 'alice' && (u.domain?.name === 'Default' || u.domain?.name === 'eng')) ||
        u.id === 'u-alice';
      if (!known || u.password !== 'pw')
        return { status: 401, data: { error: { code: 401, title: 'Unauthorized', message: 'no' } } };
      return issue({ userId: 'u-alice', domainId: 'default', roles: [], catalog: [] });
    }
    if (m === 'application_credential') {
      if (auth.identity.application_credential.secret !== 's3')
        return { status: 401, data: { error: { code: 401, title: 'Unauthorized', message: 'no' } } };
      return issue({
        userId: 'u-alice',
        projectId: 'p-ops',
        roles: ['member'],
        extra: { application_credential: { id: HEX, name: 'ci' } },
      });
    }
    // token rescope
    const pid = auth.scope?.project?.id as string;
    if (!ROLES[pid])
      return { status: 401, data: { error: { code: 401, title: 'Unauthorized', message: 'no role' } } };
    return issue({ userId: 'u-alice', projectId: pid, roles: ROLES[pid] });
  };
  ks.serviceHandler = (req) =>
    req.url.endsWith('/v3/auth/projects')
      ? { status: 200, data: { projects: PROJECTS } }
      : { status: 404, data: {} };
  const session = new KeystoneSession({
    authUrl: 'http://ks/v3',
    auth: new PasswordAuth({ userId: 'svc', password: 'x', scope: { projectId: 'service' } }),
    adapter: ks.adapter,
  });
  const validator = new TokenValidator({ session, adapter: ks.adapter });
  const ids = new KeystoneIdentities({
    authUrl: 'http://ks/v3',
    validator,
    globalReadRoles: ['admin'],
    cacheSeconds: 60,
    adapter: ks.adapter,
  });
  return { ks, ids };
}

describe('KeystoneIdentities', () => {
  it('a password user: roles per project by name or id, names resolved in the user domain first', async () => {
    const { ids } = setup();
    const alice = await ids.fromBasic('alice', 'pw');
    expect(alice.userId).toBe('u-alice');
    expect(await alice.projectAccess('dev')).toMatchObject({ id: 'p-dev', roles: ['member', 'reader'] });
    expect(await alice.projectAccess('p-ops')).toMatchObject({ id: 'p-ops', roles: ['reader'] });
    expect(await alice.projectAccess('unknown')).toBeUndefined();
    expect((await alice.visibleProjects()).map((p) => p.id)).toEqual(['p-dev', 'p-ops', 'p-dev2']);
    expect(await alice.globalReader()).toBe(false);
    expect(await ids.fromBasic('alice@eng', 'pw')).toBeDefined();
  });

  it('an application credential is bound to its project', async () => {
    const { ids } = setup();
    const ac = await ids.fromBasic(HEX, 's3');
    expect(await ac.projectAccess('p-ops')).toMatchObject({ roles: ['member'] });
    expect(await ac.projectAccess('dev')).toBeUndefined();
  });

  it('a Keystone token: project-scoped ones give that project', async () => {
    const { ks, ids } = setup();
    const token = ks.issue({ userId: 'u-bob', projectId: 'p-x', roles: ['admin'] });
    ks.tokens.set(token, tokenBody({ userId: 'u-bob', projectId: 'p-x', roles: ['admin'] }));
    const bob = await ids.fromBasic('token', token);
    expect(await bob.projectAccess('p-x')).toMatchObject({ roles: ['admin'] });
    expect(await bob.globalReader()).toBe(true);
  });

  it('refuses wrong credentials (InvalidCredentials) and caches good ones', async () => {
    const { ks, ids } = setup();
    await expect(ids.fromBasic('alice', 'wrong')).rejects.toBeInstanceOf(InvalidCredentials);
    await expect(ids.fromBasic('token', 'not-a-token')).rejects.toBeInstanceOf(InvalidCredentials);
    await expect(ids.fromBasic('alice', '')).rejects.toBeInstanceOf(InvalidCredentials);
    const before = ks.authBodies.length;
    await ids.fromBasic('alice', 'pw');
    await ids.fromBasic('alice', 'pw');
    expect(ks.authBodies.length - before).toBe(1);
  });

  it('reports Keystone outages as such, not as bad credentials', async () => {
    const { ks, ids } = setup();
    ks.authOverride = () => 'refuse';
    await expect(ids.fromBasic('alice', 'pw')).rejects.toThrow(/unreachable/);
  });
});
