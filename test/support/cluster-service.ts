// What the cluster-service suites share: a private berth-cluster-service
// process (own port, own SQLite database, killable and restartable), the
// shared one the catalog points at, Magnum-API calls with real Keystone
// tokens, and the python-magnumclient / `openstack coe` runners.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

import { KeystoneSession, PasswordAuth } from 'keystone-client-ts';

import { testEnv } from './env';
import { type IniSections, writeIni } from './ini';
import { type KeystoneFixture, uniqueName } from './keystone-fixture';
import { busyboxTarball } from './nova-fixture';
import { createDockerImage, createFlavor } from './openstack-resources';
import { adminCredentials, type Credentials, openstackRaw, sleep } from './openstack-cli';

const execFileP = promisify(execFile);
/** The checkout: the first directory above this file that has cluster-service/ (from test/support or a bench's dist/). */
export const ROOT = (() => {
  let d = __dirname;
  while (!existsSync(join(d, 'cluster-service', 'package.json')) && dirname(d) !== d) d = dirname(d);
  return d;
})();
export const ARTIFACTS = join(ROOT, 'test', 'artifacts');
const KS = testEnv.authUrl.replace(/\/v3\/?$/, '');
/** The aio's service user (devstack/aio/lib/berth-cluster-service.sh creates it). */
export const SERVICE_USER = process.env.BERTH_TEST_CLUSTER_USER ?? 'berth-cluster';
export const SERVICE_PASSWORD = process.env.BERTH_TEST_CLUSTER_PASSWORD ?? 'secret';
/** The shared service in the catalog (container-infra). */
export const SHARED_URL = process.env.BERTH_TEST_CLUSTER_URL ?? 'http://127.0.0.1:9511';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

export interface PrivateService {
  url: string;
  port: number;
  dir: string;
  configFile: string;
  /** SIGKILL, as a crash */
  kill(): Promise<void>;
  /** starts the process again on the same port, database and host name */
  start(): Promise<void>;
  stop(): Promise<void>;
  logFile: string;
}

/**
 * A berth-cluster-service of its own, from the built dist/ (a process we can
 * kill): fast conductor ticks, short health and report intervals.
 */
export async function startPrivateService(
  name: string,
  ini: IniSections = {},
  /** the address to listen on (default loopback): a docker bridge gateway lets containers report */
  bindHost = '127.0.0.1',
): Promise<PrivateService> {
  const main = join(ROOT, 'cluster-service', 'dist', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: build first (npx tsc -b)`);
  const dir = mkdtempSync(join(tmpdir(), `berth-cs-${name}-`));
  const port = await freePort();
  const url = `http://${bindHost}:${port}`;
  const sections: IniSections = {
    DEFAULT: { host: `test-${name}-${randomBytes(3).toString('hex')}`, debug: 'true' },
    api: { host: bindHost, port: String(port), public_url: url },
    keystone_authtoken: {
      www_authenticate_uri: KS,
      auth_url: KS,
      username: SERVICE_USER,
      password: SERVICE_PASSWORD,
      project_name: 'service',
      region_name: testEnv.region,
      interface: 'public',
    },
    database: { connection: `sqlite:///${join(dir, 'cluster.db')}` },
    certificates: { encryption_key: randomBytes(32).toString('base64') },
    conductor: {
      poll_interval: '0.2',
      lease_seconds: '6',
      health_polling_interval: '2',
      service_report_interval: '2',
    },
    swarm: { report_interval: '2', node_down_after: '8' },
  };
  const configFile = join(dir, 'cluster-service.conf');
  writeIni(configFile, sections, ini);
  mkdirSync(ARTIFACTS, { recursive: true });
  const logFile = join(ARTIFACTS, `cluster-service-${name}.log`);
  let child: ChildProcess | undefined;

  const start = async () => {
    const out = createWriteStream(logFile, { flags: 'a' });
    await new Promise((r) => out.once('open', r));
    child = spawn(process.execPath, [main, '--config-file', configFile], {
      stdio: ['ignore', out, out],
      detached: true,
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const r = await fetch(`${url}/healthcheck`);
        if (r.ok) return;
      } catch {
        /* not up yet */
      }
      if (child.exitCode !== null)
        throw new Error(`cluster service ${name} exited (${child.exitCode}); see ${logFile}`);
      if (Date.now() > deadline) throw new Error(`cluster service ${name} did not start; see ${logFile}`);
      await sleep(200);
    }
  };
  const waitExit = async (c: ChildProcess) => {
    if (c.exitCode !== null || c.signalCode !== null) return;
    await new Promise((r) => c.once('exit', r));
  };
  await start();
  return {
    url,
    port,
    dir,
    configFile,
    logFile,
    start,
    kill: async () => {
      if (!child) return;
      const c = child;
      c.kill('SIGKILL');
      await waitExit(c);
    },
    stop: async () => {
      if (!child) return;
      const c = child;
      c.kill('SIGTERM');
      const t = setTimeout(() => c.kill('SIGKILL'), 15_000);
      await waitExit(c);
      clearTimeout(t);
    },
  };
}

/** A project with a member user, for a tenant of the cluster service. */
export interface Tenant {
  projectId: string;
  userId: string;
  creds: Credentials;
  token(): Promise<string>;
}

export async function tenant(ks: KeystoneFixture, prefix: string, role = 'member'): Promise<Tenant> {
  const project = await ks.project(prefix);
  const user = await ks.user(prefix);
  await ks.grantProject(user.id, project.id, role);
  const session = new KeystoneSession({
    authUrl: ks.session.authUrl,
    auth: new PasswordAuth({ userId: user.id, password: user.password, scope: { projectId: project.id } }),
  });
  return {
    projectId: project.id,
    userId: user.id,
    creds: { username: user.name, password: user.password, projectName: project.name },
    token: () => session.getToken(),
  };
}

/** A parsed JSON document (what JSON.parse gives), navigable in assertions. */
export type JsonDoc = ReturnType<typeof JSON.parse>;

export interface Reply<T = JsonDoc> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** One Magnum API call as a client makes it (JSON, a Keystone token, a microversion). */
export async function call<T = JsonDoc>(
  base: string,
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
  opts: { version?: string; headers?: Record<string, string>; raw?: string | Buffer } = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers };
  if (token) headers['X-Auth-Token'] = token;
  if (opts.version !== undefined) headers['OpenStack-API-Version'] = `container-infra ${opts.version}`;
  let payload: string | Buffer | undefined;
  if (opts.raw !== undefined) payload = opts.raw;
  else if (body !== undefined) payload = JSON.stringify(body);
  if (payload !== undefined && !headers['Content-Type']) headers['Content-Type'] = 'application/json';
  const r = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(payload !== undefined ? { body: payload } : {}),
  });
  const text = await r.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  return { status: r.status, headers: r.headers, body: parsed as T, text };
}

/** Polls a cluster until `until` holds; returns the last cluster document. */
export async function waitCluster(
  base: string,
  token: () => Promise<string>,
  uuid: string,
  until: (c: JsonDoc) => boolean,
  timeoutMs: number,
): Promise<JsonDoc> {
  const deadline = Date.now() + timeoutMs;
  let last: JsonDoc;
  while (Date.now() < deadline) {
    const r = await call(base, await token(), 'GET', `/v1/clusters/${uuid}`, undefined, {
      version: 'latest',
    });
    if (r.status === 404) last = { status: 'GONE' };
    else last = r.body;
    if (until(last)) return last;
    await sleep(500);
  }
  throw new Error(`cluster ${uuid} did not get there in ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
}

/** Runs python with python3-magnumclient (Debian's), returning stdout; a failure carries stderr. */
export async function python(
  script: string,
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<string> {
  try {
    const { stdout } = await execFileP(testEnv.python, ['-c', script], {
      env: { ...process.env, ...env },
      timeout: timeoutMs,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string };
    throw new Error(`python failed: ${err.stderr ?? ''}${err.stdout ?? ''}`);
  }
}

export { cliEnv, openstackRaw } from './openstack-cli';

/** A public node image (busybox, os_distro=berth-swarm-node) and a flavor, made by admin; removed by `remove`. */
export async function nodeImageAndFlavor(
  dir: string,
  osDistro = 'berth-swarm-node',
): Promise<{ image: string; imageId: string; flavor: string; remove(): Promise<void> }> {
  const tar = await busyboxTarball(dir);
  const image = uniqueName('swarm-node');
  const created = { id: await createDockerImage(image, tar, { os_distro: osDistro }) };
  const flavor = await createFlavor('flv', 128, 1);
  return {
    image,
    imageId: created.id,
    flavor,
    remove: async () => {
      await openstackRaw(adminCredentials, ['image', 'delete', created.id]).catch(() => undefined);
      await openstackRaw(adminCredentials, ['flavor', 'delete', flavor]).catch(() => undefined);
    },
  };
}

/** Retries a call while the service it asks is unreachable or times out (the shared all-in-one is busy at times). */
export async function patiently<T>(what: string, call: () => Promise<T>, tries = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await call();
    } catch (e) {
      const transient =
        (e as Error).name === 'OpenStackConnectionError' || ((e as { status?: number }).status ?? 0) >= 500;
      if (!transient || i >= tries) throw e;
      process.stderr.write(`${what}: retrying after ${(e as Error).message}\n`);
      await sleep(2000 * i);
    }
  }
}
