import capture from './__fixtures__/oslo-wire-capture.json';
import {
  deserializeFailure,
  failureFromError,
  GENERIC_ERROR_MODULE,
  NoSuchMethod,
  OsloError,
  RemoteError,
  serializeFailure,
  UnsupportedVersion,
} from './errors';
import { deserializeMsg } from './wire';

const capturedFailure = (capture as { body: string }[])
  .map((f) => deserializeMsg(f.body))
  .find((m) => typeof m.failure === 'string')?.failure as string;

describe('failures on the wire', () => {
  it('is a JSON string with the keys oslo sends', () => {
    const s = serializeFailure(new OsloError({ className: 'X', module: 'm', message: 'boom' }));
    expect(typeof s).toBe('string');
    expect(Object.keys(JSON.parse(s) as object).sort()).toEqual(
      Object.keys(JSON.parse(capturedFailure) as object).sort(),
    );
  });

  it('serializes an OsloError as the named Python class with kwargs and args = [message]', () => {
    const f = failureFromError(
      new OsloError({
        className: 'InstanceNotFound',
        module: 'nova.exception',
        message: 'Instance 0000-1 could not be found.',
        kwargs: { instance_id: '0000-1', code: 404 },
      }),
      false,
    );
    const real = JSON.parse(capturedFailure) as Record<string, unknown>;
    expect(f).toEqual({ ...real, tb: [] });
  });

  it('turns a plain JS error into the generic module, keeping its class name', () => {
    const f = failureFromError(new TypeError('x is undefined'));
    expect(f.class).toBe('TypeError');
    expect(f.module).toBe(GENERIC_ERROR_MODULE);
    expect(f.message).toBe('x is undefined');
    expect(f.tb.length).toBeGreaterThan(0);
    expect(failureFromError('a string').message).toBe('a string');
  });

  it('omits the traceback when asked', () => {
    expect(failureFromError(new Error('x'), false).tb).toEqual([]);
  });

  it('re-raising a RemoteError keeps its original identity (oslo strips _Remote)', () => {
    const r = new RemoteError(
      'InstanceNotFound_Remote',
      'nova.exception_Remote',
      'gone',
      ['tb'],
      { code: 404 },
      ['gone'],
    );
    expect(failureFromError(r)).toEqual({
      class: 'InstanceNotFound',
      module: 'nova.exception',
      message: 'gone',
      tb: ['tb'],
      args: ['gone'],
      kwargs: { code: 404 },
    });
  });

  it('rebuilds the captured Nova failure', () => {
    const e = deserializeFailure(capturedFailure);
    expect(e).toBeInstanceOf(RemoteError);
    expect(e.excType).toBe('InstanceNotFound');
    expect(e.module).toBe('nova.exception');
    expect(e.value).toBe('Instance 0000-1 could not be found.');
    expect(e.kwargs).toEqual({ instance_id: '0000-1', code: 404 });
    expect(e.traceback[0]).toContain('Traceback');
    expect(e.is('nova.exception', 'InstanceNotFound')).toBe(true);
    expect(e.message).toBe('Remote error: InstanceNotFound Instance 0000-1 could not be found.');
  });

  it.each([['not json'], ['[]'], [42], [null], ['{"class": 5, "tb": "x", "kwargs": []}']])(
    'tolerates junk failure %p',
    (junk) => {
      const e = deserializeFailure(junk);
      expect(e).toBeInstanceOf(RemoteError);
      expect(e.excType).toBe('Exception');
      expect(Array.isArray(e.traceback)).toBe(true);
    },
  );
});

describe('dispatcher errors carry oslo messages', () => {
  it('NoSuchMethod', () => {
    const e = failureFromError(new NoSuchMethod('frob'), false);
    expect(e).toMatchObject({
      class: 'NoSuchMethod',
      module: 'oslo_messaging.rpc.dispatcher',
      message: 'Endpoint does not support RPC method frob',
      args: ['Endpoint does not support RPC method frob'],
      kwargs: {},
    });
  });

  it('UnsupportedVersion', () => {
    expect(new UnsupportedVersion('2.0', 'frob').message).toBe(
      'Endpoint does not support RPC version 2.0. Attempted method: frob',
    );
    expect(new UnsupportedVersion('2.0').message).toBe('Endpoint does not support RPC version 2.0');
  });
});
