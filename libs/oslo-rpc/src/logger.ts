// The logging contract: pino-compatible `(obj, msg)` calls, so a service
// passes its own pino logger (or a child carrying a request id) and every
// line from this library lands in the service's structured log.

export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = (): void => undefined;

/** Default when the caller passes no logger: silence, never console noise in a library. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

/**
 * Context keys whose values must never reach a log line. `auth_token` is the
 * user's Keystone token (nova/context.py to_dict); the service catalog can
 * embed tokens too in some deployments.
 */
const SECRET_CONTEXT_KEYS = new Set(['auth_token', 'auth_token_info', 'service_token']);

/** A copy of a request context that is safe to log. */
export function redactContext(context: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(context)) {
    const bare = key.startsWith('_context_') ? key.slice('_context_'.length) : key;
    out[key] = SECRET_CONTEXT_KEYS.has(bare) && value != null ? '***' : value;
  }
  return out;
}
