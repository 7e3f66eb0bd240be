// Logging hooks. The shape is pino's (object first, message second) so a
// service can pass its request-scoped child logger straight in. Tokens never
// reach a log line: only tokenFingerprint(token) does.

import { createHash } from 'node:crypto';

export interface Logger {
  debug(obj: Record<string, unknown>, msg: string): void;
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** sha256 of the token, first 12 hex digits: enough to correlate log lines, useless to an attacker. */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 12);
}
