import pino, { Logger } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  service: string;
  /** [DEFAULT] debug */
  debug?: boolean;
  /** [DEFAULT] log_file; stdout when unset */
  file?: string;
  /** extra fields on every line (host, agent id...) */
  base?: Record<string, unknown>;
}

/**
 * Where secrets may appear in what we log: Keystone tokens in headers, oslo
 * contexts, passwords in request bodies. pino replaces them with [redacted].
 */
export const REDACT_PATHS = [
  'req.headers["x-auth-token"]',
  'req.headers["x-subject-token"]',
  'req.headers["x-service-token"]',
  'req.headers.authorization',
  'headers["x-auth-token"]',
  'headers.authorization',
  'password',
  '*.password',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'auth_token',
  '*.auth_token',
  '_context_auth_token',
  '*._context_auth_token',
];

/** Structured JSON logs, one object per line: what operators feed to their log pipeline. */
export function createLogger(o: LoggerOptions): Logger {
  const destination = o.file
    ? pino.destination({ dest: o.file, mkdir: true, sync: false })
    : pino.destination(1);
  return pino(
    {
      level: o.debug ? 'debug' : 'info',
      base: { service: o.service, pid: process.pid, ...o.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
