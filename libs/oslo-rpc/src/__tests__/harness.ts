// Shared set-up for unit tests: a Transport wired to the FakeBroker and a
// logger that records every line (so tests can assert on logs, e.g. that no
// auth token ever appears).
import type { Logger } from '../logger';
import { Transport, type TransportOptions } from '../transport';
import { FakeBroker } from './fake-amqp';

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: object;
  msg?: string;
}

export function recordingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: LogLine['level']) => (obj: object, msg?: string) => {
    lines.push({ level, obj, msg });
  };
  return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

export function fakeTransport(
  opts: Partial<TransportOptions> = {},
  broker = new FakeBroker(),
): { broker: FakeBroker; transport: Transport; lines: LogLine[] } {
  const { logger, lines } = recordingLogger();
  const transport = new Transport({
    url: 'rabbit://guest:guest@fake:5672/',
    controlExchange: 'nova',
    connect: broker.connect,
    logger,
    ...opts,
  });
  return { broker, transport, lines };
}

/** Let queued microtasks and immediate callbacks run. */
export async function flush(times = 20): Promise<void> {
  for (let i = 0; i < times; i++) await new Promise<void>((r) => queueMicrotask(r));
}

/**
 * Wait until `pred` holds, letting microtasks and I/O callbacks run; gives up
 * after `ms` of real time (fake timers do not fake setImmediate/performance here).
 */
export async function until(pred: () => boolean, what = 'condition', ms = 2000): Promise<void> {
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    if (pred()) return;
    await flush(5);
    await new Promise<void>((r) => setImmediate(r));
  }
  if (pred()) return;
  throw new Error(`timed out waiting for ${what}`);
}
