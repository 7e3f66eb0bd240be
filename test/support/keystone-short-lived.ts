// A second Keystone for expiry tests: same database and fernet keys as the
// all-in-one's (so its tokens are valid everywhere and its users are the
// same), but `[token] expiration` of a few seconds. Started on a free port,
// logs in a temp dir (never the test's stdout), stopped by stop().

import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitForKeystone } from './keystone-fixture';

export const AIO_KEYSTONE_CONF = process.env.BERTH_KEYSTONE_CONF ?? '/etc/keystone/berth/keystone.conf';

/** Rewrites `key` in `[section]` of an INI text, adding section or key when absent. */
export function setIniOption(text: string, section: string, key: string, value: string): string {
  const lines = text.split('\n');
  const out: string[] = [];
  let current = '';
  let done = false;
  const header = new RegExp(`^\\s*\\[${section}\\]\\s*$`, 'i');
  for (const line of lines) {
    const sec = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (sec) {
      current = sec[1] ?? '';
      out.push(line);
      if (header.test(line)) {
        out.push(`${key} = ${value}`);
        done = true;
      }
      continue;
    }
    if (current.toLowerCase() === section.toLowerCase() && new RegExp(`^\\s*${key}\\s*=`).test(line))
      continue;
    out.push(line);
  }
  if (!done) out.push('', `[${section}]`, `${key} = ${value}`);
  return out.join('\n');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export class ShortLivedKeystone {
  private child: ChildProcess | undefined;
  readonly dir = mkdtempSync(join(tmpdir(), 'berth-ks-short-'));
  url = '';

  constructor(readonly expirationSeconds: number) {}

  get logFile(): string {
    return join(this.dir, 'uwsgi.log');
  }

  async start(): Promise<string> {
    if (!existsSync(AIO_KEYSTONE_CONF)) {
      throw new Error(`${AIO_KEYSTONE_CONF} not found: is the all-in-one Keystone up?`);
    }
    let conf = readFileSync(AIO_KEYSTONE_CONF, 'utf8');
    conf = setIniOption(conf, 'token', 'expiration', String(this.expirationSeconds));
    conf = setIniOption(conf, 'DEFAULT', 'log_file', join(this.dir, 'keystone.log'));
    const confPath = join(this.dir, 'keystone.conf');
    writeFileSync(confPath, conf, { mode: 0o600 });

    const port = await freePort();
    this.url = `http://127.0.0.1:${port}/v3`;
    const log = openSync(this.logFile, 'a');
    try {
      // Its own process group (detached) so stop() reaches master and workers.
      this.child = spawn(
        'uwsgi',
        [
          '--plugin',
          'python3',
          '--http-socket',
          `127.0.0.1:${port}`,
          '--wsgi-file',
          '/usr/bin/keystone-wsgi-public',
          '--processes',
          '1',
          '--threads',
          '1',
          '--lazy-apps',
          '--master',
          '--die-on-term',
          '--add-header',
          'Connection: close',
        ],
        {
          env: { ...process.env, OS_KEYSTONE_CONFIG_FILES: confPath },
          stdio: ['ignore', log, log],
          detached: true,
        },
      );
    } finally {
      closeSync(log);
    }
    const exited = new Promise<never>((_, reject) =>
      this.child?.once('exit', (code) =>
        reject(new Error(`short-lived keystone exited (${code}); log:\n${this.tail()}`)),
      ),
    );
    exited.catch(() => undefined);
    try {
      await Promise.race([waitForKeystone(this.url, 60_000), exited]);
    } catch (err) {
      await this.stop();
      throw err;
    }
    return this.url;
  }

  tail(): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-30).join('\n');
    } catch {
      return '(no log)';
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }, 10_000);
      await gone;
      clearTimeout(timer);
    }
    if (!process.env.BERTH_KEEP_TEST_LOGS) rmSync(this.dir, { recursive: true, force: true });
  }
}
