// The Nova boot contract of glance-bridge (README "Nova boot contract"),
// end to end on the all-in-one: a `docker push` of <project>/<repo>:<tag>
// registers a Glance image in the pushing project (container_format=docker,
// berth_oci_* properties, active with a small pointer payload), and the
// pull path Berth's nova-driver agent takes works against the real dockerd:
// Engine API /images/create for <registry>/<repository>@<digest> with
// X-Registry-Auth {username: "token", password: <Keystone token>}, with the
// user's project token and with a service user's token.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { GlanceClient, type GlanceImage, imageProperty } from '@berth/openstack-clients';
import { KeystoneSession, PasswordAuth } from 'keystone-client-ts';

import { adminSession, KeystoneFixture } from '../support/keystone-fixture';
import { OciClient, tenant, type Tenant } from '../support/glance-bridge';
import { testEnv } from '../support/env';
import { adminCredentials as adminCreds, openstack } from '../support/openstack-cli';

const exec = promisify(execFile);
jest.setTimeout(300_000);

const ks = new KeystoneFixture();
const dir = mkdtempSync(join(tmpdir(), 'berth-nova-boot-'));
let t: Tenant;
let host: string;
let url: string;
let userSession: KeystoneSession;
let glance: GlanceClient;
let oci: OciClient;
const dockerEnv = () => ({ ...process.env, DOCKER_CONFIG: join(dir, 'docker') });
const localRefs: string[] = [];

async function docker(args: string[], input?: string): Promise<string> {
  const p = exec('docker', args, { env: dockerEnv(), timeout: 240_000, maxBuffer: 16 * 1024 * 1024 });
  if (input !== undefined) p.child.stdin?.end(input);
  try {
    return (await p).stdout;
  } catch (e) {
    throw new Error(`docker ${args.join(' ')}: ${(e as { stderr?: string }).stderr ?? String(e)}`);
  }
}

/** Builds an image from busybox-static and a message, and pushes it; returns the manifest digest. */
async function pushImage(ref: string, message: string): Promise<string> {
  const root = mkdtempSync(join(dir, 'root-'));
  writeFileSync(join(root, 'message.txt'), `${message}\n`);
  await exec('bash', [
    '-c',
    `mkdir -p ${root}/bin && cp /bin/busybox ${root}/bin/ && tar -C ${root} -c . | docker import --change 'CMD ["/bin/busybox","cat","/message.txt"]' - ${ref}`,
  ]);
  localRefs.push(ref);
  const out = await docker(['push', ref]);
  const digest = /digest: (sha256:[0-9a-f]{64})/.exec(out)?.[1];
  if (!digest) throw new Error(`no digest in: ${out}`);
  return digest;
}

/** Images registered for a repository, as the project's user sees them in Glance. */
async function bootImages(repo: string): Promise<GlanceImage[]> {
  return glance.listImages({ properties: { berth_oci_repository: `${t.project.id}/${repo}` } });
}

/** What the agent does: Engine API pull with the Keystone token as registry auth. */
function enginePull(reference: string, registry: string, keystoneToken: string): Promise<string[]> {
  const at = reference.lastIndexOf('@');
  // dockerd decodes X-Registry-Auth with Go's base64.URLEncoding: URL alphabet, *with* padding
  const auth = Buffer.from(
    JSON.stringify({ username: 'token', password: keystoneToken, serveraddress: registry }),
  )
    .toString('base64')
    .replace(/\+/g, '-')
    .replace(/\//g, '_');
  const q = new URLSearchParams({ fromImage: reference.slice(0, at), tag: reference.slice(at + 1) });
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        socketPath: '/var/run/docker.sock',
        method: 'POST',
        path: `/v1.41/images/create?${q}`,
        headers: { 'X-Registry-Auth': auth },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          const lines = text
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as { status?: string; error?: string });
          const error = lines.find((l) => l.error)?.error ?? (res.statusCode !== 200 ? text : undefined);
          if (error) reject(new Error(`pull ${reference}: ${error}`));
          else resolve(lines.map((l) => l.status ?? ''));
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  url = await adminSession().getEndpoint({ type: 'container-registry', interface: 'public' });
  host = new URL(url).host;
  t = await tenant(ks, 'gb-boot');
  userSession = new KeystoneSession({
    authUrl: testEnv.authUrl,
    auth: new PasswordAuth({
      userId: t.user.id,
      password: t.user.password,
      scope: { projectId: t.project.id },
    }),
  });
  glance = new GlanceClient(userSession, { interface: 'public' });
  oci = new OciClient(url, t.login);
  await docker(['login', host, '-u', t.login.username, '--password-stdin'], t.login.password);
});

afterAll(async () => {
  for (const ref of localRefs) await docker(['rmi', '-f', ref]).catch(() => undefined);
  const tags = await oci.req('GET', `${t.project.name}/app`, '/tags/list', { actions: 'pull,push,delete' });
  if (tags.status === 200) {
    for (const tag of tags.json().tags as string[]) {
      const d = (await oci.req('HEAD', `${t.project.name}/app`, `/manifests/${tag}`)).headers.get(
        'docker-content-digest',
      );
      if (d) await oci.req('DELETE', `${t.project.name}/app`, `/manifests/${d}`);
    }
  }
  for (const image of await glance.listImages({ owner: t.project.id }).catch(() => []))
    await glance.deleteImage(image.id);
  rmSync(dir, { recursive: true, force: true });
  await ks.cleanup();
});

describe('registration on push', () => {
  let digest: string;

  it('registers <repo>:<tag> in the pushing project with the berth_oci_* properties', async () => {
    digest = await pushImage(`${host}/${t.project.name}/app:1.0`, 'booted from the bridge');
    const [image, ...more] = await bootImages('app');
    expect(more).toEqual([]);
    expect(image).toMatchObject({
      name: 'app_1.0',
      status: 'active',
      container_format: 'docker',
      disk_format: 'raw',
      owner: t.project.id,
      visibility: 'private',
      berth_oci_registry: host,
      berth_oci_registry_url: url,
      berth_oci_repository: `${t.project.id}/app`,
      berth_oci_digest: digest,
      berth_oci_media_type: 'application/vnd.docker.distribution.manifest.v2+json',
      berth_oci_tag: '1.0',
    });
    // the payload is a small pointer, not a copy of the layers
    expect(image?.size).toBeLessThan(1024);
    const data = await glance.downloadData((image as GlanceImage).id);
    const chunks: Buffer[] = [];
    for await (const c of data.body) chunks.push(c as Buffer);
    expect(JSON.parse(Buffer.concat(chunks).toString()).reference).toBe(
      `${host}/${t.project.id}/app@${digest}`,
    );
  });

  it('is found by name with the openstack CLI, as `server create --image app_1.0` looks it up', async () => {
    const shown = await openstack<{ id: string; properties: Record<string, string> }>(
      { username: t.user.name, password: t.user.password, projectName: t.project.name },
      ['image', 'show', 'app_1.0', '-f', 'json'],
    );
    expect(shown.properties.berth_oci_digest).toBe(digest);
  });

  it('pulls <registry>/<repository>@<digest> into dockerd with the user project token (as the agent does)', async () => {
    const [image] = await bootImages('app');
    const registry = imageProperty(image as GlanceImage, 'berth_oci_registry') as string;
    const reference = `${registry}/${imageProperty(image as GlanceImage, 'berth_oci_repository')}@${imageProperty(image as GlanceImage, 'berth_oci_digest')}`;
    await docker(['rmi', '-f', `${host}/${t.project.name}/app:1.0`]);
    const status = await enginePull(reference, registry, await userSession.getToken());
    expect(status.join('\n')).toContain(`Digest: ${digest}`);
    localRefs.push(reference);
    const out = await docker(['run', '--rm', reference]);
    expect(out.trim()).toBe('booted from the bridge');
  });

  it('pulls with a service user token too (a global read role, like the agent own credentials)', async () => {
    const nova = new KeystoneSession({
      authUrl: testEnv.authUrl,
      auth: new PasswordAuth({
        username: 'nova',
        userDomainName: 'Default',
        password: testEnv.adminPassword,
        scope: { projectName: 'service', projectDomainName: 'Default' },
      }),
    });
    const reference = `${host}/${t.project.id}/app@${digest}`;
    await docker(['rmi', '-f', reference]).catch(() => undefined);
    const status = await enginePull(reference, host, await nova.getToken());
    expect(status.join('\n')).toContain(`Digest: ${digest}`);
  });

  it('refuses the pull with a token of a project without access', async () => {
    const other = await tenant(ks, 'gb-boot-other');
    const otherToken = await new KeystoneSession({
      authUrl: testEnv.authUrl,
      auth: new PasswordAuth({
        userId: other.user.id,
        password: other.user.password,
        scope: { projectId: other.project.id },
      }),
    }).getToken();
    await docker(['rmi', '-f', `${host}/${t.project.id}/app@${digest}`]).catch(() => undefined);
    // dockerd may still know the manifest by digest from the earlier pull: then the blobs are what it is refused
    await expect(enginePull(`${host}/${t.project.id}/app@${digest}`, host, otherToken)).rejects.toThrow(
      /not known to registry|unknown blob|does not exist/i,
    );
  });

  it('moves <repo>:<tag> to the new digest and keeps the old image as <repo>@<digest>', async () => {
    const second = await pushImage(`${host}/${t.project.name}/app:1.0`, 'second build');
    const images = await bootImages('app');
    const byName = Object.fromEntries(images.map((i) => [i.name, i]));
    const old = `app@${digest.replace(':', '-').slice(0, 19)}`;
    expect(Object.keys(byName).sort()).toEqual(['app_1.0', old].sort());
    expect(byName['app_1.0']?.berth_oci_digest).toBe(second);
    expect(byName[old]?.berth_oci_digest).toBe(digest);
    expect(byName[old]?.berth_oci_tag).toBeUndefined();
    digest = second;
  });

  it('registers on request through POST /berth/v1/images (idempotent by digest)', async () => {
    const headers = { 'X-Auth-Token': await userSession.getToken(), 'Content-Type': 'application/json' };
    const body = JSON.stringify({ repository: `${t.project.name}/app`, reference: digest });
    const first = await oci.raw('POST', '/berth/v1/images', { body, headers });
    expect(first.status).toBe(201);
    expect(first.json()).toMatchObject({
      name: `app@${digest.replace(':', '-').slice(0, 19)}`,
      project_id: t.project.id,
      berth_oci_registry: host,
      berth_oci_repository: `${t.project.id}/app`,
      berth_oci_digest: digest,
    });
    const again = await oci.raw('POST', '/berth/v1/images', { body, headers });
    expect(again.status).toBe(200);
    expect(again.json().image_id).toBe(first.json().image_id);
    const named = await oci.raw('POST', '/berth/v1/images', {
      body: JSON.stringify({ repository: `${t.project.name}/app`, reference: '1.0', name: 'my-app' }),
      headers,
    });
    expect(named.status).toBe(201);
    expect((await glance.getImage(named.json().image_id)).name).toBe('my-app');
  });

  it('removes the images of a deleted tag, then of a deleted manifest', async () => {
    expect((await oci.req('DELETE', `${t.project.name}/app`, '/manifests/1.0')).status).toBe(202);
    expect((await bootImages('app')).map((i) => i.name)).not.toContain('app_1.0');
    expect((await oci.req('DELETE', `${t.project.name}/app`, `/manifests/${digest}`)).status).toBe(202);
    expect((await bootImages('app')).filter((i) => i.berth_oci_digest === digest)).toEqual([]);
  });
});

describe('booting through Nova (Berth nova-driver)', () => {
  it('`openstack server create --image <repo>_<tag>` runs the pushed image, pulled by digest from the bridge', async () => {
    const root = mkdtempSync(join(dir, 'svc-'));
    writeFileSync(join(root, 'message.txt'), 'served from the bridge\n');
    const ref = `${host}/${t.project.name}/svc:2.0`;
    await exec('bash', [
      '-c',
      `mkdir -p ${root}/bin && cp /bin/busybox ${root}/bin/ && ln -s busybox ${root}/bin/sleep && ln -s busybox ${root}/bin/cat &&
       tar -C ${root} -c . | docker import --change 'ENV PATH=/bin' --change 'CMD ["/bin/sleep","infinity"]' - ${ref}`,
    ]);
    localRefs.push(ref);
    const pushed = /digest: (sha256:[0-9a-f]{64})/.exec(await docker(['push', ref]))?.[1];
    await docker(['rmi', '-f', ref]);
    const user = { username: t.user.name, password: t.user.password, projectName: t.project.name };
    const flavor = `bridge-${t.project.id.slice(0, 8)}`;
    await openstack(adminCreds, [
      'flavor',
      'create',
      '--ram',
      '64',
      '--disk',
      '1',
      '--vcpus',
      '1',
      flavor,
      '-f',
      'json',
    ]);
    try {
      const server = await openstack<{ id: string }>(user, [
        '--os-compute-api-version',
        '2.37',
        'server',
        'create',
        '--image',
        'svc_2.0',
        '--flavor',
        flavor,
        '--nic',
        'none',
        '--wait',
        'from-bridge',
        '-f',
        'json',
      ]);
      const shown = await openstack<{ status: string }>(user, ['server', 'show', server.id, '-f', 'json']);
      expect(shown.status).toBe('ACTIVE');
      const inspect = JSON.parse(await docker(['inspect', `nova-${server.id}`]))[0];
      expect(inspect.Config.Image).toBe(`${host}/${t.project.id}/svc@${pushed}`);
      expect((await docker(['exec', `nova-${server.id}`, 'cat', '/message.txt'])).trim()).toBe(
        'served from the bridge',
      );
      await openstack(user, ['server', 'delete', '--wait', server.id]);
    } finally {
      await openstack(adminCreds, ['flavor', 'delete', flavor]).catch(() => undefined);
      await docker(['rmi', '-f', `${host}/${t.project.id}/svc@${pushed}`]).catch(() => undefined);
    }
  });
});
