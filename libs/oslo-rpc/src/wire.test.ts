import capture from './__fixtures__/oslo-wire-capture.json';
import {
  buildHeartbeat,
  buildReply,
  buildRequest,
  deserializeMsg,
  MalformedMessage,
  newId,
  publishProperties,
  serializeMsg,
  unpackRequest,
  versionIsCompatible,
} from './wire';

interface Captured {
  exchange: string;
  routing_keys: string[];
  properties: Record<string, unknown>;
  body: string;
}
const frames = capture as Captured[];
const inner = (c: Captured) => deserializeMsg(c.body);
const callFrame = frames.find((f) => inner(f).method === 'spawn') as Captured;
const castFrame = frames.find((f) => inner(f).method === 'power_off' && f.exchange === 'nova') as Captured;
const fanoutFrame = frames.find((f) => f.exchange === 'capture_fanout') as Captured;
const replies = frames.filter((f) => f.exchange === '');

describe('envelope', () => {
  it('double-encodes the inner message as a JSON string under oslo.message', () => {
    const body = serializeMsg({ method: 'ping', args: {} });
    const outer = JSON.parse(body.toString()) as Record<string, unknown>;
    expect(outer['oslo.version']).toBe('2.0');
    expect(typeof outer['oslo.message']).toBe('string');
    expect(deserializeMsg(body)).toEqual({ method: 'ping', args: {} });
  });

  it('reads every message real oslo.messaging 14 published', () => {
    for (const f of frames) expect(inner(f)).toEqual(expect.any(Object));
  });

  it('treats an object without both envelope keys as a bare 1.0 message', () => {
    expect(deserializeMsg('{"method":"x","args":{}}')).toEqual({ method: 'x', args: {} });
    expect(deserializeMsg('{"oslo.version":"2.0"}')).toEqual({ 'oslo.version': '2.0' });
  });

  it.each([
    ['not json', 'not JSON'],
    ['[1,2]', 'not a JSON object'],
    ['42', 'not a JSON object'],
    ['{"oslo.version":"3.0","oslo.message":"{}"}', 'unsupported envelope version'],
    ['{"oslo.version":"2.0","oslo.message":{"a":1}}', 'not a string'],
    ['{"oslo.version":"2.0","oslo.message":"{broken"}', 'oslo.message is not JSON'],
    ['{"oslo.version":"2.0","oslo.message":"[]"}', 'not a JSON object'],
  ])('rejects %s', (body, why) => {
    expect(() => deserializeMsg(body)).toThrow(MalformedMessage);
    expect(() => deserializeMsg(body)).toThrow(why);
  });

  it('accepts a compatible minor envelope version', () => {
    expect(deserializeMsg('{"oslo.version":"2.0","oslo.message":"{\\"a\\":1}"}')).toEqual({ a: 1 });
  });
});

describe('requests', () => {
  it('builds a call with the same keys, in the same order, as oslo', () => {
    const captured = inner(callFrame);
    const ours = buildRequest({
      method: 'spawn',
      args: { instance_uuid: 'uuid-1', image: { id: 'img' } },
      version: '1.0',
      context: {
        request_id: 'req-1',
        user_id: 'u1',
        project_id: 'p1',
        auth_token: 'SECRET-TOKEN',
        roles: ['member'],
        is_admin: false,
      },
      reply: { msgId: String(captured._msg_id), replyQ: String(captured._reply_q), callMonitorTimeout: 2 },
    });
    expect(Object.keys(ours)).toEqual(Object.keys(captured));
    expect({ ...ours, _unique_id: 'x' }).toEqual({ ...captured, _unique_id: 'x' });
    expect(ours._unique_id).toMatch(/^[0-9a-f]{32}$/);
  });

  it('builds a cast with only _unique_id besides method/args/version/context', () => {
    const captured = inner(castFrame);
    const ours = buildRequest({
      method: 'power_off',
      args: { instance_uuid: 'uuid-1' },
      version: '1.0',
      context: {
        request_id: 'req-1',
        user_id: 'u1',
        project_id: 'p1',
        auth_token: 'SECRET-TOKEN',
        roles: ['member'],
        is_admin: false,
      },
    });
    expect(Object.keys(ours)).toEqual(Object.keys(captured));
    expect(ours).not.toHaveProperty('_msg_id');
    expect(ours).not.toHaveProperty('_timeout');
  });

  it('adds namespace only when the target has one', () => {
    expect(buildRequest({ method: 'm', args: {}, context: {}, namespace: 'ns' })).toHaveProperty(
      'namespace',
      'ns',
    );
    expect(buildRequest({ method: 'm', args: {}, context: {} })).not.toHaveProperty('namespace');
  });

  it('unpacks a captured call: context, reply routing and call-monitor timeout', () => {
    const req = unpackRequest(inner(callFrame));
    expect(req.method).toBe('spawn');
    expect(req.context).toEqual({
      request_id: 'req-1',
      user_id: 'u1',
      project_id: 'p1',
      auth_token: 'SECRET-TOKEN',
      roles: ['member'],
      is_admin: false,
    });
    expect(req.replyQ).toMatch(/^reply_[0-9a-f]{32}$/);
    expect(req.msgId).toMatch(/^[0-9a-f]{32}$/);
    expect(req.clientTimeout).toBe(2);
    expect(req.version).toBe('1.0');
    expect(req.namespace).toBeNull();
  });

  it('unpacks a captured fanout cast (no reply routing) and defaults version to 1.0', () => {
    const req = unpackRequest(inner(fanoutFrame));
    expect(req.msgId).toBeNull();
    expect(req.replyQ).toBeNull();
    expect(unpackRequest({ method: 'x' }).version).toBe('1.0');
    expect(unpackRequest({ method: 'x' }).args).toEqual({});
  });
});

describe('replies', () => {
  it('matches the captured reply, heartbeat and failure shapes', () => {
    const [beat, , result, failure] = replies.map(inner);
    expect(Object.keys(buildHeartbeat('m'))).toEqual(Object.keys(beat as object));
    expect(buildHeartbeat('m')).toMatchObject({ result: null, failure: null, ending: false, _msg_id: 'm' });
    expect(beat).toMatchObject({ result: null, failure: null, ending: false });
    expect(Object.keys(buildReply('m', 1, null))).toEqual(Object.keys(result as object));
    expect(result).toMatchObject({ result: { state: 'running' }, ending: true });
    expect(typeof (failure as Record<string, unknown>).failure).toBe('string');
  });

  it('sends null for an undefined result', () => {
    expect(buildReply('m', undefined, null).result).toBeNull();
  });
});

describe('AMQP properties', () => {
  const camel = (p: Record<string, unknown>) => ({
    contentType: p.content_type,
    contentEncoding: p.content_encoding,
    deliveryMode: p.delivery_mode,
    priority: p.priority,
    headers: p.headers,
    ...(p.expiration !== undefined ? { expiration: p.expiration } : {}),
  });

  it('equal what kombu sent for a call (expiration = timeout in ms)', () => {
    expect(publishProperties(30)).toEqual(camel(callFrame.properties));
  });

  it('equal what kombu sent for casts and replies (no expiration)', () => {
    expect(publishProperties()).toEqual(camel(castFrame.properties));
    expect(publishProperties()).toEqual(camel((replies[0] as Captured).properties));
  });
});

describe('versionIsCompatible (oslo _utils)', () => {
  it.each([
    ['1.0', '1.0', true],
    ['1.3', '1.0', true],
    ['1.3', '1.3', true],
    ['1.3', '1.4', false],
    ['2.0', '1.0', false],
    ['1.0', '2.0', false],
    ['1.3.1', '1.3.2', false],
    ['1.3.2', '1.3.1', true],
    ['1.3', '1.3.1', false],
    ['1.4', '1.3.9', true],
  ])('implemented %s, requested %s -> %s', (imp, req, ok) => {
    expect(versionIsCompatible(imp, req)).toBe(ok);
  });

  it('null implemented accepts all; null requested matches nothing', () => {
    expect(versionIsCompatible(null, '9.9')).toBe(true);
    expect(versionIsCompatible('1.0', null)).toBe(false);
  });

  it('throws on non-numeric versions like Python int() would', () => {
    expect(() => versionIsCompatible('1.0', 'one.two')).toThrow(RangeError);
    expect(() => versionIsCompatible('1.0', '1')).toThrow(RangeError);
  });
});

it('newId is uuid4 hex', () => {
  expect(newId()).toMatch(/^[0-9a-f]{32}$/);
  expect(newId()).not.toBe(newId());
});
