// The oslo.messaging 2.0 wire format, and nothing else: envelope, request and
// reply dicts, context packing, AMQP properties. Verified against real
// oslo.messaging 14.0.3 with the RabbitMQ firehose (fixture:
// __fixtures__/oslo-wire-capture.json).
import { randomUUID } from 'node:crypto';

export const ENVELOPE_VERSION = '2.0';
export const VERSION_KEY = 'oslo.version';
export const MESSAGE_KEY = 'oslo.message';
const CONTEXT_PREFIX = '_context_';

/** uuid4().hex, the shape oslo uses for _msg_id, _unique_id and queue suffixes. */
export function newId(): string {
  return randomUUID().replace(/-/g, '');
}

/** The envelope: the inner dict travels as a JSON *string* (double-encoded). */
export function serializeMsg(inner: object): Buffer {
  return Buffer.from(
    JSON.stringify({ [VERSION_KEY]: ENVELOPE_VERSION, [MESSAGE_KEY]: JSON.stringify(inner) }),
  );
}

export class MalformedMessage extends Error {
  override name = 'MalformedMessage';
}

/**
 * Parse a body the way common.py deserialize_msg does: an object with both
 * envelope keys is unwrapped (major version must be 2); an object without
 * them is a bare 1.0 message and returned as-is. Anything we cannot read
 * becomes MalformedMessage.
 */
export function deserializeMsg(body: Buffer | string): Record<string, unknown> {
  let outer: unknown;
  try {
    outer = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch (e) {
    throw new MalformedMessage(`body is not JSON: ${(e as Error).message}`);
  }
  if (!isPlainObject(outer)) throw new MalformedMessage('body is not a JSON object');
  if (!(VERSION_KEY in outer && MESSAGE_KEY in outer)) return outer;
  const version = outer[VERSION_KEY];
  if (typeof version !== 'string' || !versionIsCompatible(ENVELOPE_VERSION, version)) {
    throw new MalformedMessage(`unsupported envelope version ${JSON.stringify(version)}`);
  }
  const payload = outer[MESSAGE_KEY];
  if (typeof payload !== 'string') throw new MalformedMessage('oslo.message is not a string');
  let inner: unknown;
  try {
    inner = JSON.parse(payload);
  } catch (e) {
    throw new MalformedMessage(`oslo.message is not JSON: ${(e as Error).message}`);
  }
  if (!isPlainObject(inner)) throw new MalformedMessage('oslo.message is not a JSON object');
  return inner;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * oslo _utils.version_is_compatible(imp_version, version): same major, and the
 * requested minor (then revision) not above the implemented one. Throws on a
 * version that is not `major.minor[.rev]` integers, as Python's int() would.
 */
export function versionIsCompatible(
  impVersion: string | undefined | null,
  version: string | undefined | null,
): boolean {
  if (impVersion == null) return true;
  if (version == null) return false;
  const parse = (v: string): [number, number, number] => {
    const parts = v.split('.');
    const num = (s: string | undefined, dflt?: number): number => {
      if (s === undefined && dflt !== undefined) return dflt;
      if (s === undefined || !/^\s*[+-]?\d+\s*$/.test(s))
        throw new RangeError(`invalid version ${JSON.stringify(v)}`);
      return Number(s);
    };
    return [num(parts[0]), num(parts[1]), num(parts[2], 0)];
  };
  const [maj, min, rev] = parse(version);
  const [iMaj, iMin, iRev] = parse(impVersion);
  if (maj !== iMaj) return false;
  if (min > iMin) return false;
  if (min === iMin && rev > iRev) return false;
  return true;
}

export type Context = Record<string, unknown>;

/** An RPC request as it travels (rpc/client.py _make_message + amqpdriver._send). */
export interface RequestMessage {
  method: string;
  args: Record<string, unknown>;
  namespace?: string;
  version?: string;
  _msg_id?: string;
  _reply_q?: string;
  _timeout?: number | null;
  _unique_id: string;
  [contextKey: `_context_${string}`]: unknown;
}

export interface BuildRequest {
  method: string;
  args: Record<string, unknown>;
  context: Context;
  namespace?: string;
  version?: string;
  /** Set for a call: reply routing. */
  reply?: { msgId: string; replyQ: string; callMonitorTimeout: number | null };
}

/** Key order matches oslo's, which makes captures easy to diff. */
export function buildRequest(b: BuildRequest): RequestMessage {
  const msg: Record<string, unknown> = { method: b.method, args: b.args };
  if (b.namespace != null) msg.namespace = b.namespace;
  if (b.version != null) msg.version = b.version;
  if (b.reply) {
    msg._msg_id = b.reply.msgId;
    msg._reply_q = b.reply.replyQ;
    msg._timeout = b.reply.callMonitorTimeout;
  }
  msg._unique_id = newId();
  packContext(msg, b.context);
  return msg as unknown as RequestMessage;
}

/** Flatten the context into `_context_<key>` (amqp.py pack_context). */
export function packContext(msg: Record<string, unknown>, context: Context): void {
  for (const [key, value] of Object.entries(context)) msg[`${CONTEXT_PREFIX}${key}`] = value;
}

/** What the server side reads out of a request (amqp.py unpack_context + _MsgIdCache). */
export interface IncomingRequest {
  context: Context;
  method: unknown;
  args: unknown;
  namespace: unknown;
  version: unknown;
  msgId: string | null;
  replyQ: string | null;
  /** `_timeout`: the caller's call-monitor timeout in seconds, or null. */
  clientTimeout: unknown;
  uniqueId: string | null;
}

export function unpackRequest(msg: Record<string, unknown>): IncomingRequest {
  const context: Context = {};
  for (const [key, value] of Object.entries(msg)) {
    if (key.startsWith(CONTEXT_PREFIX)) context[key.slice(CONTEXT_PREFIX.length)] = value;
  }
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
  return {
    context,
    method: msg.method,
    args: msg.args === undefined ? {} : msg.args,
    namespace: msg.namespace ?? null,
    version: msg.version === undefined ? '1.0' : msg.version, // dispatcher.py default
    msgId: str(msg._msg_id),
    replyQ: str(msg._reply_q),
    clientTimeout: msg._timeout ?? null,
    uniqueId: str(msg._unique_id),
  };
}

/** A reply (amqpdriver.py AMQPIncomingMessage._send_reply); one message with ending=true in 14.x. */
export interface ReplyMessage {
  result: unknown;
  failure: string | null;
  ending: boolean;
  _msg_id: string;
  _unique_id: string;
}

export function buildReply(
  msgId: string,
  result: unknown,
  failure: string | null,
  ending = true,
): ReplyMessage {
  return {
    result: result === undefined ? null : result,
    failure,
    ending,
    _msg_id: msgId,
    _unique_id: newId(),
  };
}

/** Heartbeat for call monitoring: an empty, non-final reply. */
export function buildHeartbeat(msgId: string): ReplyMessage {
  return buildReply(msgId, null, null, false);
}

/**
 * AMQP basic properties kombu 5.2 sets on every oslo publish (captured):
 * JSON, utf-8, persistent delivery mode, priority 0, empty headers. A call
 * adds `expiration` = its timeout in ms, so an unserved request dies with the
 * caller's patience.
 */
export interface PublishProperties {
  contentType: 'application/json';
  contentEncoding: 'utf-8';
  deliveryMode: 2;
  priority: 0;
  headers: Record<string, never>;
  expiration?: string;
}

export function publishProperties(expirationSeconds?: number): PublishProperties {
  const props: PublishProperties = {
    contentType: 'application/json',
    contentEncoding: 'utf-8',
    deliveryMode: 2,
    priority: 0,
    headers: {},
  };
  if (expirationSeconds !== undefined) props.expiration = String(Math.trunc(expirationSeconds * 1000));
  return props;
}
