// Error types, and how failures cross the wire.
//
// oslo.messaging sends a failure as a JSON *string* (common.py
// serialize_remote_exception): {class, module, message, tb, args, kwargs}.
// A Python client rebuilds it as the real exception class when `module` is in
// its allowed_remote_exmods (or is `builtins`), else as
// oslo_messaging.RemoteError. So a TypeScript handler that wants Nova to see
// nova.exception.InstanceNotFound throws an OsloError naming that class.

/** Base of every error this library raises itself. */
export class MessagingError extends Error {
  override name = 'MessagingError';
}

/** No reply (or call-monitor heartbeat) arrived in time: oslo's MessagingTimeout. */
export class MessagingTimeout extends MessagingError {
  override name = 'MessagingTimeout';
  constructor(
    message: string,
    readonly msgId: string,
    readonly method: string,
    readonly topic: string,
  ) {
    super(message);
  }
}

/** The message could not be handed to the broker (not connected in time, nack, channel closed). */
export class MessageDeliveryFailure extends MessagingError {
  override name = 'MessageDeliveryFailure';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The broker connection dropped while a call waited for its reply. The reply
 * queue and any queued request do not survive a broker restart, so the call
 * is failed at once instead of waiting for its timeout. The server may or may
 * not have run the method.
 */
export class ConnectionLost extends MessagingError {
  override name = 'ConnectionLost';
  constructor(
    message: string,
    readonly msgId: string,
    readonly method: string,
  ) {
    super(message);
  }
}

export interface OsloErrorInit {
  /** Python class name, e.g. `InstanceNotFound`. */
  className: string;
  /** Python module, e.g. `nova.exception`. */
  module: string;
  message: string;
  /** Constructor kwargs the peer passes back to the class (NovaException reads these). */
  kwargs?: Record<string, unknown>;
  /** Constructor positional args; defaults to `[message]`, as Python's Exception.args. */
  args?: unknown[];
}

/**
 * Throw this from a handler to make the remote peer see a specific exception
 * class. With `{className:'InstanceNotFound', module:'nova.exception',
 * kwargs:{instance_id}}` a Nova caller gets a native InstanceNotFound.
 */
export class OsloError extends Error {
  override name = 'OsloError';
  readonly className: string;
  readonly module: string;
  readonly kwargs: Record<string, unknown>;
  readonly args: unknown[];
  constructor(init: OsloErrorInit) {
    super(init.message);
    this.className = init.className;
    this.module = init.module;
    this.kwargs = init.kwargs ?? {};
    this.args = init.args ?? [init.message];
  }
}

/** The module oslo's dispatcher errors live in, so Python clients recognise them. */
export const DISPATCHER_MODULE = 'oslo_messaging.rpc.dispatcher';

/** No endpoint in the matching namespace/version has the method (rpc/dispatcher.py NoSuchMethod). */
export class NoSuchMethod extends OsloError {
  override name = 'NoSuchMethod';
  constructor(readonly method: string) {
    const message = `Endpoint does not support RPC method ${method}`;
    super({ className: 'NoSuchMethod', module: DISPATCHER_MODULE, message });
  }
}

/** No endpoint in the namespace accepts the requested version (rpc/dispatcher.py UnsupportedVersion). */
export class UnsupportedVersion extends OsloError {
  override name = 'UnsupportedVersion';
  constructor(
    readonly version: string,
    readonly method?: string,
  ) {
    let message = `Endpoint does not support RPC version ${version}`;
    if (method) message = `${message}. Attempted method: ${method}`;
    super({ className: 'UnsupportedVersion', module: DISPATCHER_MODULE, message });
  }
}

/**
 * A failure the remote side reported, rebuilt on the calling side. Carries
 * what oslo's RemoteError carries (exc_type, value, traceback) plus the module
 * and kwargs, so callers can branch on `excType`/`module` the way Python
 * callers catch exception classes.
 */
export class RemoteError extends MessagingError {
  override name = 'RemoteError';
  constructor(
    readonly excType: string,
    readonly module: string,
    /** The remote exception's message (oslo: `value`). */
    readonly value: string,
    readonly traceback: string[],
    readonly kwargs: Record<string, unknown>,
    readonly args: unknown[],
  ) {
    super(`Remote error: ${excType} ${value}`);
  }

  /** True when the remote exception was `module.className` (e.g. `is('nova.exception', 'InstanceNotFound')`). */
  is(module: string, className: string): boolean {
    return this.module === module && this.excType === className;
  }
}

/** The dict inside a serialized failure string. */
export interface FailureDict {
  class: string;
  module: string;
  message: string;
  tb: string[];
  args: unknown[];
  kwargs: Record<string, unknown>;
}

/** Class/module for plain JavaScript errors: not importable in Python, so a Python peer raises oslo RemoteError with exc_type = the JS error name. */
export const GENERIC_ERROR_MODULE = 'berth.oslo_rpc';

const REMOTE_POSTFIX = '_Remote';

/** Turn anything a handler threw into oslo's failure dict. */
export function failureFromError(err: unknown, includeTraceback = true): FailureDict {
  if (err instanceof OsloError) {
    return {
      class: err.className,
      module: err.module,
      message: err.message,
      tb: includeTraceback ? stackLines(err) : [],
      args: err.args,
      kwargs: err.kwargs,
    };
  }
  if (err instanceof RemoteError) {
    // Re-raising a failure we received from a further peer keeps its identity,
    // as oslo does for `_Remote` classes (common.py serialize_remote_exception).
    return {
      class: stripRemote(err.excType),
      module: stripRemote(err.module),
      message: err.value,
      tb: err.traceback,
      args: err.args,
      kwargs: err.kwargs,
    };
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return {
    class: e.name || 'Error',
    module: GENERIC_ERROR_MODULE,
    message: e.message,
    tb: includeTraceback ? stackLines(e) : [],
    args: [e.message],
    kwargs: {},
  };
}

function stripRemote(s: string): string {
  return s.endsWith(REMOTE_POSTFIX) ? s.slice(0, -REMOTE_POSTFIX.length) : s;
}

/** Python sends traceback.format_exception() lines; we send the JS stack the same way. */
function stackLines(err: Error): string[] {
  return (err.stack ?? `${err.name}: ${err.message}`).split('\n').map((l) => `${l}\n`);
}

/** The wire form: a JSON string, not an object (double-encoded inside oslo.message). */
export function serializeFailure(err: unknown, includeTraceback = true): string {
  return JSON.stringify(failureFromError(err, includeTraceback));
}

/** Rebuild a failure string from a peer. Tolerates junk: a peer bug must not crash the caller. */
export function deserializeFailure(data: unknown): RemoteError {
  let f: Partial<FailureDict> & Record<string, unknown>;
  try {
    const parsed: unknown = typeof data === 'string' ? JSON.parse(data) : data;
    f = parsed && typeof parsed === 'object' ? (parsed as typeof f) : { message: String(data) };
  } catch {
    f = { message: String(data) };
  }
  const str = (v: unknown, dflt: string) => (typeof v === 'string' ? v : dflt);
  const tb = Array.isArray(f.tb) ? f.tb.map(String) : [];
  const args = Array.isArray(f.args) ? f.args : [];
  const kwargs = f.kwargs && typeof f.kwargs === 'object' ? (f.kwargs as Record<string, unknown>) : {};
  return new RemoteError(str(f.class, 'Exception'), str(f.module, ''), str(f.message, ''), tb, kwargs, args);
}
