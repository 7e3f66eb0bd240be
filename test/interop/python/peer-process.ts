// Drives peer.py (real oslo.messaging 14 under Debian's /usr/bin/python3)
// from jest: one long-lived process per test file, JSON lines both ways.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';

export const PYTHON = '/usr/bin/python3'; // the pyenv python3 first in PATH lacks the OpenStack modules
export const PEER_DIR = __dirname;

export interface PeerError {
  class: string;
  module: string;
  mro: string[];
  str: string;
  kwargs: Record<string, unknown> | null;
  exc_type: string | null;
  value: string | null;
}

export interface PeerAnswer {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: PeerError;
  tb?: string;
}

export interface PeerEvent {
  event: string;
  server?: string;
  method?: string;
  args?: Record<string, unknown>;
  ctxt?: Record<string, unknown>;
}

export interface PeerTarget {
  topic: string;
  server?: string | null;
  version?: string | null;
  namespace?: string | null;
  fanout?: boolean;
}

export class PythonPeer {
  readonly events: PeerEvent[] = [];
  private stderr = '';
  private nextId = 1;
  private readonly waiting = new Map<number, (a: PeerAnswer) => void>();
  private eventWaiters: (() => void)[] = [];
  private exited = false;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (line) => this.onLine(line));
    child.stderr.on('data', (b: Buffer) => {
      this.stderr += b.toString();
      if (this.stderr.length > 200_000) this.stderr = this.stderr.slice(-100_000);
    });
    child.on('exit', () => {
      this.exited = true;
      for (const [id, w] of this.waiting) {
        w({
          id,
          ok: false,
          error: {
            class: 'PeerExited',
            module: '',
            mro: [],
            str: this.stderrTail(),
            kwargs: null,
            exc_type: null,
            value: null,
          },
        });
      }
      this.waiting.clear();
    });
  }

  /** Start peer.py against `transportUrl` (rabbit://...) and wait until it is ready. */
  static async start(
    transportUrl: string,
    opts: { exchange?: string; allowedExmods?: string[] } = {},
  ): Promise<PythonPeer> {
    const args = [join(PEER_DIR, 'peer.py'), '--url', transportUrl, '--exchange', opts.exchange ?? 'nova'];
    if (opts.allowedExmods) args.push('--allowed-exmods', opts.allowedExmods.join(','));
    const child = spawn(PYTHON, args, {
      env: {
        PATH: '/usr/bin:/bin',
        LANG: 'C.UTF-8',
        PYTHONPATH: PEER_DIR,
        PYTHONUNBUFFERED: '1',
        PYTHONDONTWRITEBYTECODE: '1', // no __pycache__ in the source tree
        HOME: process.env.HOME,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const peer = new PythonPeer(child);
    await peer.waitEvent((e) => e.event === 'ready', 30_000);
    return peer;
  }

  private onLine(line: string): void {
    let msg: PeerAnswer & PeerEvent;
    try {
      msg = JSON.parse(line) as PeerAnswer & PeerEvent;
    } catch {
      this.stderr += `[stdout] ${line}\n`;
      return;
    }
    if (msg.event) {
      this.events.push(msg);
      const ws = this.eventWaiters;
      this.eventWaiters = [];
      for (const w of ws) w();
      return;
    }
    const w = this.waiting.get(msg.id);
    this.waiting.delete(msg.id);
    w?.(msg);
  }

  stderrTail(chars = 4000): string {
    return this.stderr.slice(-chars);
  }

  /** Send one command and wait for its answer. */
  send(cmd: Record<string, unknown>): Promise<PeerAnswer> {
    if (this.exited) return Promise.reject(new Error(`python peer exited: ${this.stderrTail()}`));
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.child.stdin.write(`${JSON.stringify({ ...cmd, id })}\n`);
    });
  }

  /** Like send(), but throws with the Python traceback when the command failed. */
  async ok(cmd: Record<string, unknown>): Promise<unknown> {
    const a = await this.send(cmd);
    if (!a.ok)
      throw new Error(`python peer: ${JSON.stringify(a.error)}\n${a.tb ?? ''}\n${this.stderrTail(1500)}`);
    return a.result;
  }

  serve(topic: string, server: string): Promise<unknown> {
    return this.ok({ op: 'serve', topic, server });
  }

  call(
    target: PeerTarget,
    method: string,
    args: Record<string, unknown> = {},
    opts: { ctxt?: Record<string, unknown>; timeout?: number; callMonitorTimeout?: number } = {},
  ): Promise<PeerAnswer> {
    return this.send({
      op: 'call',
      target,
      method,
      args,
      ctxt: opts.ctxt ?? {},
      timeout: opts.timeout ?? 30,
      call_monitor_timeout: opts.callMonitorTimeout ?? null,
    });
  }

  cast(
    target: PeerTarget,
    method: string,
    args: Record<string, unknown> = {},
    ctxt: Record<string, unknown> = {},
  ) {
    return this.ok({ op: 'cast', target, method, args, ctxt });
  }

  /** Wait for an event line matching `pred` (already received ones count). */
  async waitEvent(pred: (e: PeerEvent) => boolean, timeoutMs = 10_000): Promise<PeerEvent> {
    const t0 = Date.now();
    for (;;) {
      const hit = this.events.find(pred);
      if (hit) return hit;
      if (this.exited) throw new Error(`python peer exited: ${this.stderrTail()}`);
      const left = timeoutMs - (Date.now() - t0);
      if (left <= 0)
        throw new Error(
          `python peer: no matching event in ${timeoutMs} ms; stderr: ${this.stderrTail(1500)}`,
        );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.eventWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Ask it to quit (stops its server, cleans up the transport); kill if it lingers. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.stdin.write(`${JSON.stringify({ op: 'quit' })}\n`);
    const t = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(t);
  }
}
