// The real `openstack` CLI (python3-openstackclient), as users run it, for the
// end-to-end suites; plus small waiting and shell helpers.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';

import { testEnv } from './env';

const exec = promisify(execFile);

export interface Credentials {
  username: string;
  password: string;
  projectName: string;
  userDomain?: string;
  projectDomain?: string;
}

export const adminCredentials: Credentials = {
  username: testEnv.adminUser,
  password: testEnv.adminPassword,
  projectName: testEnv.adminProject,
};

export class CliError extends Error {
  constructor(
    readonly args: string[],
    readonly code: number,
    readonly stderr: string,
  ) {
    super(`openstack ${args.join(' ')} failed (${code}): ${stderr.trim()}`);
  }
}

/** The environment `openstack` needs to act as the given user. */
export function cliEnv(creds: Credentials): Record<string, string> {
  return {
    OS_AUTH_URL: testEnv.authUrl,
    OS_USERNAME: creds.username,
    OS_PASSWORD: creds.password,
    OS_PROJECT_NAME: creds.projectName,
    OS_USER_DOMAIN_NAME: creds.userDomain ?? 'Default',
    OS_PROJECT_DOMAIN_NAME: creds.projectDomain ?? 'Default',
    OS_IDENTITY_API_VERSION: '3',
    OS_REGION_NAME: testEnv.region,
    OS_INTERFACE: 'public',
    // magnumclient's `coe cluster config` picks export syntax from $SHELL and
    // raises KeyError without it; a login shell has it, a CI runner may not
    SHELL: process.env.SHELL ?? '/bin/bash',
  };
}

/** `openstack ARGS` as the given user: raw stdout (magnumclient prints notices before -f json output). */
export async function openstackRaw(creds: Credentials, args: string[], timeoutMs = 120_000): Promise<string> {
  try {
    const { stdout } = await exec('openstack', args, {
      env: { ...process.env, ...cliEnv(creds) },
      timeout: timeoutMs,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (e) {
    const err = e as { code?: number; stderr?: string };
    throw new CliError(args, err.code ?? -1, err.stderr ?? String(e));
  }
}

/** `openstack ARGS` as the given user, synchronously (the benchmarks' setup steps): trimmed stdout. */
export function openstackSync(creds: Credentials, args: string[]): string {
  return execFileSync('openstack', args, { env: { ...process.env, ...cliEnv(creds) } })
    .toString()
    .trim();
}

/** Runs `openstack ARGS` as the given user; `-f json` output is parsed. */
export async function openstack<T = unknown>(
  creds: Credentials,
  args: string[],
  timeoutMs = 120_000,
): Promise<T> {
  const stdout = await openstackRaw(creds, args, timeoutMs);
  return (args.includes('json') ? JSON.parse(stdout || 'null') : stdout) as T;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `probe` returns a value (not undefined) or the time is up. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 120_000,
  everyMs = 1000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** Runs a command (docker, ip, the all-in-one script) and returns its stdout. */
export async function run(cmd: string, args: string[], timeoutMs = 300_000): Promise<string> {
  const { stdout } = await exec(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** The all-in-one script, for fault injection (`restart dockerd`...) */
export const aio = (...args: string[]) => run(`${__dirname}/../../devstack/aio/berth-aio`, args);
