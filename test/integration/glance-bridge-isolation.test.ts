// Projects and the registry: repositories are <project>/<name>, a project's
// members push and pull there, readers only pull, another project cannot
// list, pull, push or mount (404 NAME_UNKNOWN, exactly as for a repository
// that does not exist, so names never leak), admins may make a repository
// public for anonymous pulls. Every Keystone login form docker and skopeo
// can store is accepted. Real Keystone and Glance; a private bridge.

import { KeystoneSession, PasswordAuth } from 'keystone-client-ts';

import { adminSession, KeystoneFixture } from '../support/keystone-fixture';
import {
  codes,
  OciClient,
  type PrivateBridge,
  purgeNamespace,
  randomBlob,
  startBridge,
  storeImages,
  tenant,
  type Tenant,
} from '../support/glance-bridge';

jest.setTimeout(120_000);

const ks = new KeystoneFixture();
let b: PrivateBridge;
let A: Tenant;
let B: Tenant;
let reader: Tenant['user'];
let a: OciClient;
let bc: OciClient;
let aRepo: string;
const shared = randomBlob(4096);
let image: Awaited<ReturnType<OciClient['pushImage']>>;

const projectToken = async (userId: string, password: string, projectId: string) =>
  new KeystoneSession({
    authUrl: ks.session.authUrl,
    auth: new PasswordAuth({ userId, password, scope: { projectId } }),
  }).getToken();

beforeAll(async () => {
  A = await tenant(ks, 'gb-iso-a');
  B = await tenant(ks, 'gb-iso-b');
  reader = await ks.user('gb-iso-reader');
  await ks.grantProject(reader.id, A.project.id, 'reader');
  b = await startBridge('isolation');
  a = new OciClient(b.url, A.login);
  bc = new OciClient(b.url, B.login);
  aRepo = `${A.project.name}/app`;
  image = await a.pushImage(aRepo, 'v1', [shared]);
});

afterAll(async () => {
  await b?.stop();
  if (b) await purgeNamespace(b.namespace);
  await ks.cleanup();
});

describe("another project's repositories are invisible", () => {
  it('cannot pull: manifests, blobs and tags answer 404 NAME_UNKNOWN', async () => {
    for (const path of [
      '/manifests/v1',
      `/blobs/${shared.digest}`,
      '/tags/list',
      `/referrers/${image.manifest.digest}`,
    ]) {
      const r = await bc.req('GET', aRepo, path, { actions: 'pull' });
      expect([path, r.status]).toEqual([path, 404]);
      expect(codes(r)).toEqual(['NAME_UNKNOWN']);
    }
    expect((await bc.req('HEAD', aRepo, '/manifests/v1', { actions: 'pull' })).status).toBe(404);
  });

  it('answers exactly as for a project or repository that does not exist', async () => {
    const foreign = await bc.req('GET', aRepo, '/tags/list', { actions: 'pull' });
    for (const name of [`${A.project.name}/no-such-repo`, 'no-such-project/app', `${A.project.id}/app`]) {
      const r = await bc.req('GET', name, '/tags/list', { actions: 'pull' });
      expect(r.status).toBe(foreign.status);
      expect(r.json().errors[0].code).toBe(foreign.json().errors[0].code);
      expect(r.json().errors[0].message.replace(name, '')).toBe(
        foreign.json().errors[0].message.replace(aRepo, ''),
      );
    }
  });

  it('cannot push into it', async () => {
    const r = await bc.req('POST', aRepo, '/blobs/uploads/');
    expect(r.status).toBe(404);
    expect(codes(r)).toEqual(['NAME_UNKNOWN']);
    const m = await bc.pushManifest(aRepo, 'hijack', image.manifest);
    expect(m.status).toBe(404);
    expect((await a.req('GET', aRepo, '/manifests/hijack')).status).toBe(404);
  });

  it('cannot mount from it: the mount falls back to an upload session and nothing is linked', async () => {
    const bRepo = `${B.project.name}/app`;
    const r = await bc.req('POST', bRepo, `/blobs/uploads/?mount=${shared.digest}&from=${aRepo}`, {
      scopes: [`repository:${aRepo}:pull`],
    });
    expect(r.status).toBe(202);
    expect((await bc.req('HEAD', bRepo, `/blobs/${shared.digest}`)).status).toBe(404);
    // nor by automatic mount (no from)
    const auto = await bc.req('POST', bRepo, `/blobs/uploads/?mount=${shared.digest}`);
    expect(auto.status).toBe(202);
  });

  it('does not list it in the catalog', async () => {
    await bc.pushImage(`${B.project.name}/own`, 'v1');
    const r = await bc.raw('GET', '/v2/_catalog', { token: await bc.token(['registry:catalog:*']) });
    const names: string[] = r.json().repositories;
    expect(names).toContain(`${B.project.name}/own`);
    expect(names.filter((n) => n.startsWith(`${A.project.name}/`))).toEqual([]);
    const mine = await a.raw('GET', '/v2/_catalog', { token: await a.token(['registry:catalog:*']) });
    expect(mine.json().repositories).toEqual([aRepo]);
  });
});

describe('inside the project', () => {
  it('the project is addressed by name or by id', async () => {
    const byId = await a.req('GET', `${A.project.id}/app`, '/manifests/v1', { actions: 'pull' });
    expect(byId.status).toBe(200);
    expect(byId.body.equals(image.manifest.bytes)).toBe(true);
  });

  it('a reader pulls but may not push: 403 DENIED', async () => {
    const rc = new OciClient(b.url, { username: reader.name, password: reader.password });
    expect((await rc.req('GET', aRepo, '/manifests/v1', { actions: 'pull,push' })).status).toBe(200);
    const push = await rc.req('POST', aRepo, '/blobs/uploads/', { actions: 'pull,push' });
    expect(push.status).toBe(403);
    expect(codes(push)).toEqual(['DENIED']);
  });

  it('stores bytes pushed by two projects once (global de-duplication)', async () => {
    // B uploads the same bytes A pushed: B sees them only after its own upload
    const bRepo = `${B.project.name}/app`;
    expect((await bc.req('HEAD', bRepo, `/blobs/${shared.digest}`)).status).toBe(404);
    expect((await bc.pushBlob(bRepo, shared)).status).toBe(201);
    expect((await bc.req('GET', bRepo, `/blobs/${shared.digest}`)).body.equals(shared.bytes)).toBe(true);
    const copies = (await storeImages(b.namespace)).filter((i) => i.berth_store_digest === shared.digest);
    expect(copies).toHaveLength(1);
  });
});

describe('login forms', () => {
  it('user@domain, an application credential, a Keystone token (project-scoped or not)', async () => {
    const logins = [
      { username: `${A.user.name}@Default`, password: A.user.password },
      { username: `${A.user.name}@default`, password: A.user.password },
    ];
    const ac = await ks.applicationCredential(A.user, A.project.id);
    logins.push({ username: ac.id, password: ac.secret });
    logins.push({
      username: 'token',
      password: await projectToken(A.user.id, A.user.password, A.project.id),
    });
    const unscoped = await new KeystoneSession({
      authUrl: ks.session.authUrl,
      auth: new PasswordAuth({ userId: A.user.id, password: A.user.password, scope: 'unscoped' }),
    }).getToken();
    logins.push({ username: 'token', password: unscoped });
    for (const login of logins) {
      const cl = new OciClient(b.url, login);
      const r = await cl.req('GET', aRepo, '/manifests/v1', { actions: 'pull,push' });
      expect([login.username, r.status]).toEqual([login.username, 200]);
      const up = await cl.req('POST', aRepo, '/blobs/uploads/', { actions: 'pull,push' });
      expect([login.username, up.status]).toEqual([login.username, 202]);
    }
  });

  it('an application credential is bound to its project', async () => {
    const ac = await ks.applicationCredential(B.user, B.project.id);
    const cl = new OciClient(b.url, { username: ac.id, password: ac.secret });
    expect((await cl.req('GET', aRepo, '/manifests/v1', { actions: 'pull' })).status).toBe(404);
  });

  it('a service token (global read role) pulls every project but pushes nowhere else', async () => {
    const admin = new OciClient(b.url, { username: 'token', password: await adminSession().getToken() });
    expect((await admin.req('GET', aRepo, '/manifests/v1', { actions: 'pull' })).status).toBe(200);
    const push = await admin.req('POST', aRepo, '/blobs/uploads/', { actions: 'pull,push' });
    expect(push.status).toBe(403);
  });
});

describe('public repositories', () => {
  const adminHeaders = async () => ({
    'X-Auth-Token': await ks.session.getToken(),
    'Content-Type': 'application/json',
  });

  it('cannot be pulled anonymously until an admin marks them public', async () => {
    const anon = new OciClient(b.url);
    const before = await anon.req('GET', aRepo, '/manifests/v1', { actions: 'pull' });
    expect(before.status).toBe(401);
    expect(codes(before)).toEqual(['UNAUTHORIZED']);

    // members may not, admins may
    const member = await a.raw('PATCH', `/berth/v1/repositories/${aRepo}`, {
      body: JSON.stringify({ public: true }),
      headers: {
        'X-Auth-Token': await projectToken(A.user.id, A.user.password, A.project.id),
        'Content-Type': 'application/json',
      },
    });
    expect(member.status).toBe(403);
    const r = await a.raw('PATCH', `/berth/v1/repositories/${aRepo}`, {
      body: JSON.stringify({ public: true }),
      headers: await adminHeaders(),
    });
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({
      name: aRepo,
      project_id: A.project.id,
      project_name: A.project.name,
      public: true,
    });

    const pulled = await new OciClient(b.url).req('GET', aRepo, '/manifests/v1', { actions: 'pull' });
    expect(pulled.status).toBe(200);
    // without any token at all too
    expect((await anon.raw('GET', `/v2/${aRepo}/blobs/${shared.digest}`)).status).toBe(200);
    // another project now pulls it (with a new token: tokens carry what was granted when issued), but cannot push
    expect(
      (await new OciClient(b.url, B.login).req('GET', aRepo, '/manifests/v1', { actions: 'pull' })).status,
    ).toBe(200);
    const push = await new OciClient(b.url, B.login).req('POST', aRepo, '/blobs/uploads/', {
      actions: 'pull,push',
    });
    expect(push.status).toBe(403);
    // anonymous catalogs list public repositories only
    const cat = await anon.raw('GET', '/v2/_catalog', { token: await anon.token(['registry:catalog:*']) });
    expect(cat.json().repositories).toEqual([aRepo]);
  });

  it('is private again when the admin says so', async () => {
    const r = await a.raw('PATCH', `/berth/v1/repositories/${aRepo}`, {
      body: JSON.stringify({ public: false }),
      headers: await adminHeaders(),
    });
    expect(r.status).toBe(200);
    expect((await new OciClient(b.url).req('GET', aRepo, '/manifests/v1', { actions: 'pull' })).status).toBe(
      401,
    );
  });

  it('lists the repositories of the caller project through the admin API', async () => {
    const r = await a.raw('GET', '/berth/v1/repositories', {
      headers: { 'X-Auth-Token': await projectToken(A.user.id, A.user.password, A.project.id) },
    });
    expect(r.status).toBe(200);
    expect(r.json().repositories).toEqual([
      { name: aRepo, project_id: A.project.id, project_name: A.project.name, public: false },
    ]);
  });
});
