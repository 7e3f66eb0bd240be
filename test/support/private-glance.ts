// A private second glance-api for tests that take Glance down: the shared
// one's config (same database, same file store) on another port, started
// and stopped by the test. The all-in-one's own Glance is never touched.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export class PrivateGlance {
  readonly dir = mkdtempSync(join(tmpdir(), 'berth-glance-'));
  url = '';
  private proc: ChildProcess | undefined;
  private conf = '';

  /** Writes the config once (first call) and starts glance-api; resolves when it answers. */
  async start(): Promise<void> {
    if (!this.conf) {
      const port = await freePort();
      this.url = `http://127.0.0.1:${port}`;
      this.conf = join(this.dir, 'glance-api.conf');
      const shared = readFileSync('/etc/glance/glance-api.conf', 'utf8');
      writeFileSync(
        this.conf,
        shared
          .replace(/^bind_port\s*=.*$/m, `bind_port = ${port}`)
          .replace(/^log_file\s*=.*$/m, `log_file = ${join(this.dir, 'glance-api.log')}`),
      );
    }
    const out = openSync(join(this.dir, 'stdout.log'), 'a');
    // its own process group, output to a file: never the test's stdout
    this.proc = spawn('glance-api', ['--config-file', this.conf], {
      detached: true,
      stdio: ['ignore', out, out],
    });
    this.proc.unref();
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      try {
        const r = await fetch(`${this.url}/healthcheck`);
        if (r.status === 200) return;
      } catch {
        /* not yet */
      }
      if (this.proc.exitCode !== null)
        throw new Error(`private glance-api exited (${this.proc.exitCode}); see ${this.dir}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`private glance-api did not answer on ${this.url}; see ${this.dir}`);
  }

  /** Stops it and removes its config and logs. */
  async remove(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Stops it (TERM, then KILL) and waits until the port refuses connections. */
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.pid === undefined) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    try {
      process.kill(-p.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
    const killer = setTimeout(() => {
      try {
        process.kill(-(p.pid as number), 'SIGKILL');
      } catch {
        /* gone */
      }
    }, 10_000);
    await exited;
    clearTimeout(killer);
    this.proc = undefined;
  }
}
