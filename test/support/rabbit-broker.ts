// A private RabbitMQ node per test file (or benchmark run).
//
// Why: the shared broker on :5672 carries other engineers' services, and a
// test that restarts the broker must not take theirs down. Debian's
// rabbitmq-server starts a second node happily when it gets its own node
// name, ports, mnesia/log dirs and Erlang cookie (HOME). We call the scripts
// in /usr/lib/rabbitmq/bin directly: the /usr/sbin wrappers `su` to the
// rabbitmq user, which resets HOME and cannot write our temp dir.
//
// Measured on the 2-core CI box: start (fresh mnesia) ~4 s, restart (orderly
// stop + boot) ~5-7 s, stop (SIGKILL) well under 1 s.
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, mkdirSync, existsSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RABBIT_BIN = '/usr/lib/rabbitmq/bin';

export interface RabbitBrokerOptions {
  /** AMQP port; default: a free port in 20000-44999 (the dist port is port+20000). */
  port?: number;
  /** How long start() may take before it fails. */
  startTimeoutMs?: number;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

async function pickPorts(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 20000 + Math.floor(Math.random() * 25000);
    if ((await portFree(port)) && (await portFree(port + 20000))) return port;
  }
  throw new Error('rabbit-broker: no free port pair found');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** True once the node accepts an AMQP handshake (protocol header answered). */
function amqpAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = new Socket();
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.once('error', () => done(false));
    // connection.start arrives as soon as the listener is up and the node is booted
    sock.once('data', (buf) => done(buf.length > 0 && buf[0] === 1));
    sock.connect(port, '127.0.0.1', () => sock.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1')));
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export class RabbitBroker {
  readonly nodeName: string;
  /** amqplib URL */
  readonly url: string;
  /** oslo.messaging transport_url (`amqp://` would select oslo's AMQP 1.0 driver) */
  readonly transportUrl: string;
  private pid: number | undefined;
  private readonly exitHook = () => this.killNow();

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly startTimeoutMs: number,
  ) {
    this.nodeName = `berth-test-${port}@localhost`;
    this.url = `amqp://guest:guest@127.0.0.1:${port}/`;
    this.transportUrl = `rabbit://guest:guest@127.0.0.1:${port}/`;
  }

  /** Start a fresh node and resolve once guest can log in over loopback. */
  static async start(opts: RabbitBrokerOptions = {}): Promise<RabbitBroker> {
    const port = opts.port ?? (await pickPorts());
    const dir = mkdtempSync(join(tmpdir(), `berth-rabbit-${port}-`));
    mkdirSync(join(dir, 'home'));
    const broker = new RabbitBroker(port, dir, opts.startTimeoutMs ?? 60_000);
    process.once('exit', broker.exitHook);
    await broker.boot();
    return broker;
  }

  private env(): NodeJS.ProcessEnv {
    const d = this.dir;
    return {
      PATH: process.env.PATH,
      LANG: 'C.UTF-8',
      HOME: join(d, 'home'), // own Erlang cookie: no race on /root/.erlang.cookie
      ERL_EPMD_ADDRESS: '127.0.0.1',
      RABBITMQ_NODENAME: this.nodeName,
      RABBITMQ_NODE_PORT: String(this.port),
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_DIST_PORT: String(this.port + 20000),
      RABBITMQ_MNESIA_BASE: join(d, 'mnesia'),
      RABBITMQ_LOG_BASE: join(d, 'log'),
      RABBITMQ_PID_FILE: join(d, 'rabbit.pid'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(d, 'enabled_plugins'), // absent: no plugins, faster boot
      RABBITMQ_CONFIG_FILE: join(d, 'rabbitmq'), // absent: defaults (guest allowed on loopback)
      RABBITMQ_ADVANCED_CONFIG_FILE: join(d, 'advanced.config'),
      RABBITMQ_CONF_ENV_FILE: join(d, 'rabbitmq-env.conf'), // ignore /etc/rabbitmq/rabbitmq-env.conf
    };
  }

  private async boot(): Promise<void> {
    const t0 = Date.now();
    // stdio goes to a file: a detached Erlang VM must never hold the test's stdout open.
    const out = openSync(join(this.dir, 'launcher.log'), 'a');
    try {
      await new Promise<void>((resolve, reject) => {
        const child = spawn(join(RABBIT_BIN, 'rabbitmq-server'), ['-detached'], {
          env: this.env(),
          stdio: ['ignore', out, out],
          cwd: this.dir,
        });
        child.once('error', reject);
        child.once('exit', (code) =>
          code === 0 ? resolve() : reject(new Error(`rabbitmq-server -detached exited ${code}`)),
        );
      });
    } finally {
      closeSync(out);
    }
    while (!(await amqpAnswers(this.port))) {
      if (Date.now() - t0 > this.startTimeoutMs) {
        throw new Error(
          `rabbit-broker: ${this.nodeName} not ready after ${this.startTimeoutMs} ms; ${this.logTail()}`,
        );
      }
      await sleep(100);
    }
    const pidFile = join(this.dir, 'rabbit.pid');
    this.pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : undefined;
  }

  /** Last lines of the node log, for error messages. */
  logTail(lines = 20): string {
    try {
      const log = readFileSync(join(this.dir, 'log', `${this.nodeName}.log`), 'utf8');
      return log.split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** Run rabbitmqctl against this node (about 1 s per call: it boots an Erlang VM). */
  rabbitmqctl(...args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(join(RABBIT_BIN, 'rabbitmqctl'), ['-n', this.nodeName, ...args], {
        env: this.env(),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      child.once('error', reject);
      child.once('exit', (code) =>
        code === 0 ? resolve(stdout) : reject(new Error(`rabbitmqctl ${args.join(' ')}: ${code} ${stderr}`)),
      );
    });
  }

  /**
   * Stop the VM and wait until it is gone. SIGTERM is an orderly shutdown
   * (clients get connection.close 320 CONNECTION_FORCED, ~2 s); SIGKILL is
   * instant, fine for a node whose data we delete anyway.
   */
  private async halt(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const pid = this.pid;
    if (pid === undefined || !pidAlive(pid)) return;
    process.kill(pid, signal);
    const t0 = Date.now();
    while (pidAlive(pid)) {
      if (Date.now() - t0 > 15_000) {
        process.kill(pid, 'SIGKILL');
      }
      await sleep(50);
    }
    // the listener is gone with the VM; wait until the port is reusable
    while (!(await portFree(this.port))) await sleep(50);
    this.pid = undefined;
  }

  /** A real broker restart: the VM stops (connections drop, transient queues vanish) and boots again. */
  async restart(): Promise<void> {
    await this.halt();
    await this.boot();
  }

  /** Stop the node and delete its directory. */
  async stop(): Promise<void> {
    process.removeListener('exit', this.exitHook);
    await this.halt('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  private killNow(): void {
    if (this.pid !== undefined && pidAlive(this.pid)) process.kill(this.pid, 'SIGKILL');
  }
}

export function startRabbitBroker(opts?: RabbitBrokerOptions): Promise<RabbitBroker> {
  return RabbitBroker.start(opts);
}
