// What the glance-bridge suites share: a private bridge instance (in this
// process, on a free loopback port, its own SQLite database, staging dir and
// Glance namespace, against the all-in-one's real Keystone and Glance), a
// small OCI client doing the Docker token flow with fetch, test content
// (random blobs, manifests, an OCI image layout skopeo can copy), and
// helpers to look at what the bridge left in Glance.

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';

import { type Bridge, bridgeSpec, createBridge, STORE_PROPS } from '../../glance-bridge/src';
import { GlanceClient } from '@berth/openstack-clients';
import { createLogger, loadConfig } from '@berth/service-kit';

import { type IniSections, writeIni } from './ini';
import { adminSession, type CreatedUser, KeystoneFixture } from './keystone-fixture';
import { testEnv } from './env';

export const KS = testEnv.authUrl.replace(/\/v3\/?$/, '');
/** The aio's bridge service user (devstack/aio/lib/berth-glance-bridge.sh creates it). */
export const BRIDGE_USER = process.env.BERTH_TEST_BRIDGE_USER ?? 'berth-glance-bridge';
export const BRIDGE_PASSWORD = process.env.BERTH_TEST_BRIDGE_PASSWORD ?? 'secret';
export const ARTIFACTS = join(__dirname, '..', 'artifacts');

export interface PrivateBridge {
  bridge: Bridge;
  url: string;
  /** host:port, as docker writes registries */
  host: string;
  namespace: string;
  dir: string;
  stop(): Promise<void>;
}

/** Starts a private bridge; `ini` adds or overrides configuration lines per section. */
export async function startBridge(name: string, ini: IniSections = {}): Promise<PrivateBridge> {
  const dir = mkdtempSync(join(tmpdir(), `berth-gb-${name}-`));
  const namespace = `berth-test-${name}-${randomBytes(4).toString('hex')}`;
  const sections: IniSections = {
    DEFAULT: { state_dir: dir },
    api: { bind_host: '127.0.0.1', bind_port: '0' },
    keystone_authtoken: {
      www_authenticate_uri: KS,
      auth_url: KS,
      username: BRIDGE_USER,
      password: BRIDGE_PASSWORD,
      project_name: 'service',
      region_name: testEnv.region,
    },
    glance: { namespace },
    upload: {},
    nova: { register_on_push: 'false' },
  };
  const file = join(dir, 'bridge.conf');
  writeIni(file, sections, ini);
  const { config } = loadConfig(bridgeSpec, { files: [file], env: {} });
  mkdirSync(ARTIFACTS, { recursive: true });
  const logger = createLogger({
    service: `glance-bridge-${name}`,
    debug: true,
    file: join(ARTIFACTS, `glance-bridge-${name}.log`),
  });
  const bridge = await createBridge(config, logger);
  await bridge.app.listen({ host: '127.0.0.1', port: 0 });
  const addr = bridge.app.server.address();
  if (!addr || typeof addr === 'string') throw new Error('no address');
  const host = `127.0.0.1:${addr.port}`;
  // boot images must name the port we really got
  config.api.bind_port = addr.port;
  return {
    bridge,
    url: `http://${host}`,
    host,
    namespace,
    dir,
    stop: async () => {
      await bridge.close();
      logger.flush();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---- content ----

export const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export interface Blob {
  bytes: Buffer;
  digest: string;
  size: number;
}

export function blob(bytes: Buffer | string): Blob {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
  return { bytes: b, digest: sha256(b), size: b.length };
}

export const randomBlob = (size: number) => blob(randomBytes(size));

/** A gzip stream of `size` random bytes (a layer as registries usually hold them). */
export const gzipBlob = (size: number) => blob(gzipSync(randomBytes(size), { level: 1 }));

export const MT = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  empty: 'application/vnd.oci.empty.v1+json',
};

export const desc = (b: Blob, mediaType: string, extra: Record<string, unknown> = {}) => ({
  mediaType,
  digest: b.digest,
  size: b.size,
  ...extra,
});

/** An image config blob for linux/amd64. */
export function configBlob(extra: Record<string, unknown> = {}): Blob {
  return blob(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [] },
      config: { Cmd: ['/bin/sh'] },
      created: new Date(0).toISOString(),
      nonce: randomUUID(),
      ...extra,
    }),
  );
}

export function imageManifest(config: Blob, layers: Blob[], extra: Record<string, unknown> = {}): Blob {
  return blob(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MT.manifest,
      config: desc(config, MT.config),
      layers: layers.map((l) => desc(l, MT.layer)),
      ...extra,
    }),
  );
}

/**
 * Writes an OCI image layout (oci-layout, index.json, blobs/sha256/...) of
 * one image with the given layers, as skopeo's `oci:DIR:TAG` reads it.
 */
export function writeOciLayout(dir: string, tag: string, layers: Blob[]): { manifest: Blob; config: Blob } {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  const config = configBlob({ rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } });
  // gzip layers: registries clients keep them as they are (an uncompressed layer would be compressed on push)
  const manifest = imageManifest(config, layers, {
    layers: layers.map((l) => desc(l, `${MT.layer}+gzip`)),
  });
  for (const b of [config, manifest, ...layers]) {
    writeFileSync(join(dir, 'blobs', 'sha256', b.digest.slice(7)), b.bytes);
  }
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MT.index,
      manifests: [
        { ...desc(manifest, MT.manifest), annotations: { 'org.opencontainers.image.ref.name': tag } },
      ],
    }),
  );
  return { manifest, config };
}

// ---- an OCI client with the Docker token flow ----

export interface Reply {
  status: number;
  headers: Headers;
  body: Buffer;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test bodies are read ad hoc
  json<T = any>(): T;
}

export interface Login {
  username: string;
  password: string;
}

export class OciClient {
  private tokens = new Map<string, string>();

  constructor(
    readonly url: string,
    readonly login?: Login,
  ) {}

  /** A token for these scopes from the bridge's /token (Basic auth when the client has a login). */
  async token(scopes: string[]): Promise<string> {
    const key = scopes.join(' ');
    const hit = this.tokens.get(key);
    if (hit) return hit;
    const q = new URLSearchParams({ service: 'berth-glance-bridge' });
    for (const s of scopes) q.append('scope', s);
    const headers: Record<string, string> = {};
    if (this.login) {
      headers.Authorization = `Basic ${Buffer.from(`${this.login.username}:${this.login.password}`).toString('base64')}`;
    }
    const res = await fetch(`${this.url}/token?${q.toString()}`, { headers });
    if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}: ${await res.text()}`);
    const { token } = (await res.json()) as { token: string };
    this.tokens.set(key, token);
    return token;
  }

  /** A raw request: no token unless given. */
  async raw(
    method: string,
    path: string,
    o: { body?: Buffer | string; headers?: Record<string, string>; token?: string } = {},
  ): Promise<Reply> {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (o.token) headers.Authorization = `Bearer ${o.token}`;
    const res = await fetch(path.startsWith('http') ? path : `${this.url}${path}`, {
      method,
      headers,
      ...(o.body !== undefined ? { body: o.body } : {}),
      redirect: 'manual',
    });
    const body = Buffer.from(await res.arrayBuffer());
    return {
      status: res.status,
      headers: res.headers,
      body,
      json: () => JSON.parse(body.toString('utf8')),
    };
  }

  /** A request to `repo` with a token for `actions` on it (plus extra scopes). */
  async req(
    method: string,
    repo: string,
    path: string,
    o: { body?: Buffer | string; headers?: Record<string, string>; actions?: string; scopes?: string[] } = {},
  ): Promise<Reply> {
    const token = await this.token([
      `repository:${repo}:${o.actions ?? 'pull,push,delete'}`,
      ...(o.scopes ?? []),
    ]);
    return this.raw(method, `/v2/${repo}${path}`, { ...o, token });
  }

  /** Monolithic POST + PUT of a blob. */
  async pushBlob(repo: string, b: Blob): Promise<Reply> {
    const start = await this.req('POST', repo, '/blobs/uploads/');
    if (start.status !== 202) return start;
    return this.put(repo, start, `digest=${b.digest}`, b.bytes);
  }

  /** A request to the Location of an earlier answer (an upload session), with extra query. */
  async put(
    repo: string,
    at: Reply,
    query: string,
    body?: Buffer,
    headers: Record<string, string> = {},
    method = 'PUT',
  ) {
    const loc = at.headers.get('location') as string;
    const url = query ? `${loc}${loc.includes('?') ? '&' : '?'}${query}` : loc;
    return this.raw(method, url, {
      ...(body !== undefined ? { body } : {}),
      headers: { 'Content-Type': 'application/octet-stream', ...headers },
      token: await this.token([`repository:${repo}:pull,push,delete`]),
    });
  }

  async pushManifest(repo: string, reference: string, m: Blob, mediaType = MT.manifest): Promise<Reply> {
    return this.req('PUT', repo, `/manifests/${reference}`, {
      body: m.bytes,
      headers: { 'Content-Type': mediaType },
    });
  }

  /** Pushes config + layers + manifest; returns the manifest. */
  async pushImage(
    repo: string,
    tag: string,
    layers: Blob[] = [randomBlob(1024)],
  ): Promise<{ manifest: Blob; config: Blob }> {
    const config = configBlob();
    for (const b of [config, ...layers]) {
      const r = await this.pushBlob(repo, b);
      if (r.status !== 201) throw new Error(`blob push answered ${r.status}: ${r.body.toString()}`);
    }
    const manifest = imageManifest(config, layers);
    const r = await this.pushManifest(repo, tag, manifest);
    if (r.status !== 201) throw new Error(`manifest push answered ${r.status}: ${r.body.toString()}`);
    return { manifest, config };
  }
}

/** OCI error codes of an answer. */
export const codes = (r: Reply) =>
  (r.json<{ errors: Array<{ code: string }> }>().errors ?? []).map((e) => e.code);

// ---- Keystone users and projects ----

export interface Tenant {
  project: { id: string; name: string };
  user: CreatedUser;
  login: Login;
}

/** A project with a user holding `role` in it. */
export async function tenant(ks: KeystoneFixture, prefix: string, role = 'member'): Promise<Tenant> {
  const project = await ks.project(prefix);
  const user = await ks.user(prefix);
  await ks.grantProject(user.id, project.id, role);
  return { project, user, login: { username: user.name, password: user.password } };
}

// ---- what is in Glance ----

let glanceAsAdmin: GlanceClient | undefined;
export function adminGlance(): GlanceClient {
  glanceAsAdmin ??= new GlanceClient(adminSession(), { interface: 'public' });
  return glanceAsAdmin;
}

/** Every store image of a bridge's namespace (hidden ones included). */
export async function storeImages(namespace: string) {
  return adminGlance().listImages({ os_hidden: true, properties: { [STORE_PROPS.namespace]: namespace } });
}

/** Deletes what a test bridge left in Glance. */
export async function purgeNamespace(namespace: string): Promise<void> {
  const g = adminGlance();
  for (const image of await storeImages(namespace)) await g.deleteImage(image.id);
}
