// The real clients users push and pull with (skopeo, docker through the
// local dockerd, podman), logged in with Keystone credentials, against the
// all-in-one's glance-bridge as devstack/aio/lib/berth-glance-bridge.sh runs
// it (found in the Keystone catalog as type container-registry). Images are
// made here from local files: no outside registry is involved.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { adminSession, KeystoneFixture } from '../support/keystone-fixture';
import { gzipBlob, OciClient, tenant, type Tenant, writeOciLayout } from '../support/glance-bridge';

const exec = promisify(execFile);
jest.setTimeout(300_000);

const ks = new KeystoneFixture();
const dir = mkdtempSync(join(tmpdir(), 'berth-registry-e2e-'));
let t: Tenant;
let url: string;
let host: string;
let oci: OciClient;
const localImages: string[] = [];

/** The bridge's URL from the Keystone catalog, as any OpenStack client finds a service. */
async function registryFromCatalog(): Promise<string> {
  return adminSession().getEndpoint({ type: 'container-registry', interface: 'public' });
}

async function sh(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
  input?: string,
): Promise<string> {
  const child = exec(cmd, args, {
    env: { ...process.env, ...env },
    timeout: 240_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (input !== undefined) {
    child.child.stdin?.end(input);
  }
  try {
    return (await child).stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${err.stderr ?? err.message}`);
  }
}

const fileDigest = (path: string) =>
  `sha256:${createHash('sha256').update(readFileSync(path)).digest('hex')}`;

beforeAll(async () => {
  url = await registryFromCatalog();
  host = new URL(url).host;
  t = await tenant(ks, 'gb-e2e');
  oci = new OciClient(url, t.login);
});

afterAll(async () => {
  for (const ref of localImages) await sh('docker', ['rmi', '-f', ref]).catch(() => undefined);
  // leave nothing the GC could not collect: delete what was pushed
  for (const name of ['skopeo', 'docker', 'podman']) {
    const repo = `${t.project.name}/${name}`;
    const tags = await oci.req('GET', repo, '/tags/list', { actions: 'pull,push,delete' });
    if (tags.status !== 200) continue;
    for (const tag of tags.json().tags as string[]) {
      const m = await oci.req('HEAD', repo, `/manifests/${tag}`);
      const digest = m.headers.get('docker-content-digest');
      if (digest) await oci.req('DELETE', repo, `/manifests/${digest}`);
    }
  }
  rmSync(dir, { recursive: true, force: true });
  await ks.cleanup();
});

describe('skopeo', () => {
  it('copies an OCI layout to the bridge and back, byte-identical', async () => {
    const src = join(dir, 'src');
    const layers = [gzipBlob(700_000), gzipBlob(300_000), gzipBlob(50_000)];
    const { manifest } = writeOciLayout(src, 'v1', layers);
    const dest = `docker://${host}/${t.project.name}/skopeo:v1`;
    const creds = `${t.login.username}:${t.login.password}`;
    await sh('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', creds, `oci:${src}:v1`, dest]);

    const raw = await sh('skopeo', ['inspect', '--raw', '--tls-verify=false', '--creds', creds, dest]);
    expect(Buffer.from(raw).equals(manifest.bytes)).toBe(true);
    const tags = JSON.parse(
      await sh('skopeo', [
        'list-tags',
        '--tls-verify=false',
        '--creds',
        creds,
        `docker://${host}/${t.project.name}/skopeo`,
      ]),
    );
    expect(tags.Tags).toEqual(['v1']);

    const back = join(dir, 'back');
    await sh('skopeo', ['copy', '--src-tls-verify=false', '--src-creds', creds, dest, `oci:${back}:v1`]);
    const index = JSON.parse(readFileSync(join(back, 'index.json'), 'utf8'));
    expect(index.manifests[0].digest).toBe(manifest.digest);
    const blobs = (d: string) => readdirSync(join(d, 'blobs', 'sha256')).sort();
    expect(blobs(back)).toEqual(blobs(src));
    for (const f of blobs(back)) {
      expect(fileDigest(join(back, 'blobs', 'sha256', f))).toBe(`sha256:${f}`);
      expect(fileDigest(join(back, 'blobs', 'sha256', f))).toBe(fileDigest(join(src, 'blobs', 'sha256', f)));
    }
  });

  it('logs in with Keystone credentials (skopeo login) and pushes with the stored login', async () => {
    const authfile = join(dir, 'skopeo-auth.json');
    await sh(
      'skopeo',
      [
        'login',
        '--tls-verify=false',
        '--authfile',
        authfile,
        '-u',
        t.login.username,
        '--password-stdin',
        host,
      ],
      {},
      t.login.password,
    );
    const src = join(dir, 'src2');
    const { manifest } = writeOciLayout(src, 'v2', [gzipBlob(10_000)]);
    await sh('skopeo', [
      'copy',
      '--dest-tls-verify=false',
      '--authfile',
      authfile,
      `oci:${src}:v2`,
      `docker://${host}/${t.project.name}/skopeo:v2`,
    ]);
    const digest = await sh('skopeo', [
      'inspect',
      '--tls-verify=false',
      '--authfile',
      authfile,
      '--format',
      '{{.Digest}}',
      `docker://${host}/${t.project.name}/skopeo:v2`,
    ]);
    expect(digest.trim()).toBe(manifest.digest);
  });

  it('is refused with wrong credentials', async () => {
    const src = join(dir, 'src2');
    await expect(
      sh('skopeo', [
        'copy',
        '--dest-tls-verify=false',
        '--dest-creds',
        `${t.login.username}:wrong`,
        `oci:${src}:v2`,
        `docker://${host}/${t.project.name}/skopeo:v3`,
      ]),
    ).rejects.toThrow(/unauthorized|authentication required|invalid username or password/i);
  });
});

/** An image from local files: busybox-static and a file, imported into dockerd. */
async function localImage(ref: string, message: string): Promise<void> {
  const root = mkdtempSync(join(dir, 'root-'));
  writeFileSync(join(root, 'message.txt'), `${message}\n`);
  await sh('bash', [
    '-c',
    `mkdir -p ${root}/bin && cp /bin/busybox ${root}/bin/busybox && tar -C ${root} -c . | docker import --change 'CMD ["/bin/busybox","cat","/message.txt"]' - ${ref}`,
  ]);
  localImages.push(ref);
}

describe('docker', () => {
  const env = () => ({ DOCKER_CONFIG: join(dir, 'docker-config') });

  it('logs in with Keystone credentials, pushes, pulls and runs the image', async () => {
    const login = await sh(
      'docker',
      ['login', host, '-u', t.login.username, '--password-stdin'],
      env(),
      t.login.password,
    );
    expect(login).toContain('Login Succeeded');
    const ref = `${host}/${t.project.name}/docker:v1`;
    await localImage(ref, 'pushed through glance-bridge');
    const push = await sh('docker', ['push', ref], env());
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(push)?.[1];
    expect(digest).toBeDefined();
    await sh('docker', ['rmi', ref], env());
    await sh('docker', ['pull', ref], env());
    const out = await sh('docker', ['run', '--rm', ref], env());
    expect(out.trim()).toBe('pushed through glance-bridge');
    // by digest, and with the project's id instead of its name
    const byDigest = `${host}/${t.project.id}/docker@${digest}`;
    await sh('docker', ['pull', byDigest], env());
    localImages.push(byDigest);
    const inspected = JSON.parse(await sh('docker', ['image', 'inspect', byDigest], env()));
    expect(inspected[0].RepoDigests).toContain(byDigest);
  });

  it('is told to log in when it has no credentials', async () => {
    const ref = `${host}/${t.project.name}/docker:v1`;
    await expect(sh('docker', ['pull', ref], { DOCKER_CONFIG: join(dir, 'no-login') })).rejects.toThrow(
      /may require 'docker login'/,
    );
  });
});

describe('podman', () => {
  // podman with a private store (vfs: works without privileges or overlay support)
  const podman = (args: string[], input?: string) =>
    sh(
      'podman',
      [
        '--root',
        join(dir, 'podman-root'),
        '--runroot',
        join(dir, 'podman-run'),
        '--storage-driver',
        'vfs',
        ...args,
      ],
      { REGISTRY_AUTH_FILE: join(dir, 'podman-auth.json'), TMPDIR: dir },
      input,
    );

  it('logs in, pulls what docker pushed, and pushes it under a new name', async () => {
    const login = await podman(
      ['login', '--tls-verify=false', '-u', t.login.username, '--password-stdin', host],
      t.login.password,
    );
    expect(login).toContain('Login Succeeded');
    await podman(['pull', '--tls-verify=false', `${host}/${t.project.name}/docker:v1`]);
    await podman(['tag', `${host}/${t.project.name}/docker:v1`, `${host}/${t.project.name}/podman:v1`]);
    await podman(['push', '--tls-verify=false', `${host}/${t.project.name}/podman:v1`]);
    const r = await oci.req('GET', `${t.project.name}/podman`, '/tags/list', { actions: 'pull' });
    expect(r.json().tags).toEqual(['v1']);
  });
});
