// Typed errors for everything this package can fail with. Callers branch on
// the class (or `status`), never on message text: services turn these into
// their own error shapes (Magnum `{errors:[...]}`, OCI, Nova faults).

/** Base class, so callers can catch "anything from keystone-client-ts". */
export class OpenStackError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export interface OpenStackHttpErrorInit {
  status: number;
  message: string;
  /** Machine-readable error name from the body, see parseOpenStackError. */
  code?: string | undefined;
  title?: string | undefined;
  detail?: string | undefined;
  method?: string | undefined;
  url?: string | undefined;
  requestId?: string | undefined;
  /** Raw response body (already JSON-decoded when it was JSON). */
  body?: unknown;
  cause?: unknown;
}

/** An OpenStack API answered with a non-2xx status. */
export class OpenStackHttpError extends OpenStackError {
  readonly status: number;
  readonly code: string | undefined;
  readonly title: string | undefined;
  readonly detail: string | undefined;
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly requestId: string | undefined;
  readonly body: unknown;

  constructor(init: OpenStackHttpErrorInit) {
    super(init.message, { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
    this.title = init.title;
    this.detail = init.detail;
    this.method = init.method;
    this.url = init.url;
    this.requestId = init.requestId;
    this.body = init.body;
  }
}

/**
 * Keystone refused to issue a token (POST /v3/auth/tokens answered 4xx):
 * wrong credentials, no role on the scope, or, for token auth, an expired or
 * revoked token, which Keystone 22 answers with 404 rather than 401. `status`
 * is Keystone's; an API relaying a user's failed auth should answer 401.
 */
export class AuthenticationError extends OpenStackHttpError {}

/** No HTTP answer at all: connection refused, reset, DNS failure, timeout. */
export class OpenStackConnectionError extends OpenStackError {
  /** Node/axios error code such as ECONNREFUSED or ECONNABORTED. */
  readonly code: string | undefined;
  readonly method: string | undefined;
  readonly url: string | undefined;

  constructor(message: string, init: { code?: string; method?: string; url?: string; cause?: unknown }) {
    super(message, { cause: init.cause });
    this.code = init.code;
    this.method = init.method;
    this.url = init.url;
  }
}

export type KeystoneUnavailableReason =
  | 'unreachable' // no answer (connection refused, timeout)
  | 'server-error' // Keystone answered 5xx
  | 'service-auth-failed' // our own service credentials were rejected
  | 'forbidden' // our service user may not validate tokens (policy)
  | 'unexpected-response'; // an answer we cannot interpret

/**
 * Keystone could not give a verdict on a token. Deliberately not a 401: the
 * user's token may be fine, so an API must answer 503 and the client should
 * retry, instead of throwing its credentials away.
 */
export class KeystoneUnavailableError extends OpenStackError {
  readonly status = 503;
  readonly reason: KeystoneUnavailableReason;

  constructor(message: string, reason: KeystoneUnavailableReason, cause?: unknown) {
    super(message, { cause });
    this.reason = reason;
  }
}

export type InvalidTokenReason = 'missing' | 'invalid';

/** The caller's token is missing, malformed, expired or revoked: answer 401. */
export class InvalidTokenError extends OpenStackError {
  readonly status = 401;
  readonly reason: InvalidTokenReason;

  constructor(message: string, reason: InvalidTokenReason) {
    super(message);
    this.reason = reason;
  }
}

/** The service catalog has no endpoint matching the filter. */
export class EndpointNotFoundError extends OpenStackError {}

/** Incomplete or contradictory options given to this package. */
export class ConfigurationError extends OpenStackError {}

export interface ParsedErrorBody {
  message: string;
  code?: string | undefined;
  title?: string | undefined;
  detail?: string | undefined;
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Glance and webob answer errors as text/html or text/plain pages. */
function parseText(text: string): ParsedErrorBody | undefined {
  const trimmed = text.trim();
  if (!trimmed) return undefined;
  if (!/<[a-z!/]/i.test(trimmed)) return { message: trimmed.replace(/\s+/g, ' ') };
  const title = /<title>([\s\S]*?)<\/title>/i.exec(trimmed)?.[1]?.trim();
  // The body repeats the title as an <h1>; the sentence after it is the reason.
  const bodyHtml = /<body[^>]*>([\s\S]*?)<\/body>/i.exec(trimmed)?.[1] ?? trimmed;
  const bodyText = bodyHtml
    .replace(/<h1[^>]*>[\s\S]*?<\/h1>/gi, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
  const message = bodyText || title;
  if (!message) return undefined;
  return { message, title };
}

/**
 * Extracts message/code from the error body shapes OpenStack services use:
 *
 * - Keystone  `{"error": {"code": 404, "message": "...", "title": "Not Found"}}` → code = title
 * - Nova/Cinder `{"itemNotFound": {"code": 404, "message": "..."}}` → code = the key
 * - Neutron   `{"NeutronError": {"type": "NetworkNotFound", "message", "detail"}}` → code = type
 * - Magnum/OCI `{"errors": [{"code": "client", "title"|"message", "detail"}]}` → first error
 * - Glance/webob text/html or text/plain pages → text content, code undefined
 * - `{"message": "..."}` / `{"detail": "..."}` and anything else → best effort
 *
 * Returns undefined when nothing usable is found; the caller falls back to
 * the HTTP status text.
 */
export function parseOpenStackError(body: unknown): ParsedErrorBody | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') {
    const trimmed = body.trim();
    if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
      try {
        return parseOpenStackError(JSON.parse(trimmed)) ?? parseText(trimmed);
      } catch {
        return parseText(trimmed);
      }
    }
    return parseText(trimmed);
  }
  if (Buffer.isBuffer(body)) return parseOpenStackError(body.toString('utf8'));
  if (!isRecord(body)) return undefined;

  if (isRecord(body.error)) {
    const e = body.error;
    const message = str(e.message) ?? str(e.title);
    if (message) return { message, code: str(e.title) ?? str(e.code), title: str(e.title) };
  }
  if (isRecord(body.NeutronError)) {
    const e = body.NeutronError;
    const message = str(e.message) ?? str(e.type);
    if (message) return { message, code: str(e.type), detail: str(e.detail) || undefined };
  }
  if (Array.isArray(body.errors) && body.errors.length > 0 && isRecord(body.errors[0])) {
    const e = body.errors[0];
    const message = str(e.message) ?? str(e.title) ?? str(e.detail);
    const detail = typeof e.detail === 'string' ? e.detail : undefined;
    if (message) return { message, code: str(e.code), title: str(e.title), detail };
  }
  const topMessage = str(body.message) ?? str(body.detail) ?? str(body.error_message);
  if (topMessage) return { message: topMessage, code: str(body.code) ?? str(body.type) };
  // Nova style: a single key naming the fault, whose value holds the message.
  const keys = Object.keys(body);
  if (keys.length === 1) {
    const key = keys[0] as string;
    const inner = body[key];
    if (isRecord(inner)) {
      const message = str(inner.message) ?? str(inner.explanation);
      if (message) return { message, code: key, detail: str(inner.details) };
    }
  }
  return undefined;
}
