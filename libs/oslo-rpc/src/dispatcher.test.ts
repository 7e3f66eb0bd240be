import { Dispatcher, type Endpoint } from './dispatcher';
import { NoSuchMethod, UnsupportedVersion } from './errors';

const h = (name: string) => () => name;
const endpoints: Endpoint[] = [
  { version: '1.3', methods: { ping: h('default.ping'), _secret: h('secret') } },
  { namespace: 'baseapi', version: '1.1', methods: { ping: h('baseapi.ping') } },
  {
    namespace: 'compute_task',
    legacyNamespaces: ['conductor'],
    version: '3.0',
    methods: { build: h('ct.build') },
  },
  { version: '2.0', methods: { ping: h('v2.ping'), only_v2: h('v2.only') } },
];
const d = new Dispatcher(endpoints);
const run = (method: string, version: string, namespace: string | null = null) =>
  (d.resolve({ method, version, namespace }) as () => string)();

describe('Dispatcher', () => {
  it('dispatches to the first endpoint with a matching namespace and compatible version', () => {
    expect(run('ping', '1.0')).toBe('default.ping');
    expect(run('ping', '1.3')).toBe('default.ping');
    expect(run('ping', '2.0')).toBe('v2.ping');
    expect(run('ping', '1.1', 'baseapi')).toBe('baseapi.ping');
    expect(run('build', '3.0', 'conductor')).toBe('ct.build');
  });

  it('UnsupportedVersion when no endpoint in the namespace is compatible', () => {
    expect(() => run('ping', '1.4')).toThrow(UnsupportedVersion);
    expect(() => run('ping', '3.0')).toThrow(
      'Endpoint does not support RPC version 3.0. Attempted method: ping',
    );
    expect(() => run('ping', '1.2', 'baseapi')).toThrow(UnsupportedVersion);
    expect(() => run('ping', '1.0', 'nope')).toThrow(UnsupportedVersion);
  });

  it('NoSuchMethod when a compatible endpoint lacks the method', () => {
    expect(() => run('only_v2', '1.0')).toThrow(NoSuchMethod);
    expect(() => run('frob', '2.0')).toThrow('Endpoint does not support RPC method frob');
  });

  it('never dispatches private names or inherited properties', () => {
    expect(() => run('_secret', '1.0')).toThrow(NoSuchMethod);
    expect(() => run('toString', '1.0')).toThrow(NoSuchMethod);
    expect(() => run('constructor', '1.0')).toThrow(NoSuchMethod);
    expect(() => run('__proto__', '1.0')).toThrow(NoSuchMethod);
  });

  it('a default-namespace request never reaches a namespaced endpoint', () => {
    const only = new Dispatcher([{ namespace: 'baseapi', methods: { ping: h('x') } }]);
    expect(() => only.resolve({ method: 'ping', version: '1.0', namespace: null })).toThrow(
      UnsupportedVersion,
    );
  });

  it('an endpoint without version is 1.0', () => {
    const v1 = new Dispatcher([{ methods: { ping: h('x') } }]);
    expect(() => v1.resolve({ method: 'ping', version: '1.1', namespace: null })).toThrow(UnsupportedVersion);
    expect(v1.resolve({ method: 'ping', version: '1.0', namespace: null })).toBeInstanceOf(Function);
  });

  it('an unparseable requested version is unsupported, an unparseable endpoint version is refused up front', () => {
    expect(() => run('ping', 'banana')).toThrow(UnsupportedVersion);
    expect(() => new Dispatcher([{ version: 'x', methods: {} }])).toThrow(RangeError);
  });
});
