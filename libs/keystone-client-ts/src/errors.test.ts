import { AxiosError, AxiosHeaders, type InternalAxiosRequestConfig } from 'axios';
import { OpenStackConnectionError, OpenStackHttpError, parseOpenStackError } from './errors';
import { toOpenStackError } from './transport';

describe('parseOpenStackError', () => {
  it('reads Keystone {error:{code,message,title}}', () => {
    expect(
      parseOpenStackError({
        error: { code: 404, message: 'Could not find project: x.', title: 'Not Found' },
      }),
    ).toEqual({ message: 'Could not find project: x.', code: 'Not Found', title: 'Not Found' });
  });

  it('reads Nova {itemNotFound:{message,code}} with the fault name as code', () => {
    expect(
      parseOpenStackError({ itemNotFound: { message: 'Instance abc could not be found.', code: 404 } }),
    ).toEqual({
      message: 'Instance abc could not be found.',
      code: 'itemNotFound',
      detail: undefined,
    });
  });

  it('reads Neutron {NeutronError:{type,message,detail}}', () => {
    expect(
      parseOpenStackError({
        NeutronError: { type: 'NetworkNotFound', message: 'Network n1 could not be found.', detail: '' },
      }),
    ).toEqual({ message: 'Network n1 could not be found.', code: 'NetworkNotFound', detail: undefined });
  });

  it('reads Magnum {errors:[{code,title,detail}]}', () => {
    const parsed = parseOpenStackError({
      errors: [
        {
          request_id: '',
          code: 'client',
          status: 404,
          title: 'Cluster c1 could not be found.',
          detail: 'more',
        },
      ],
    });
    expect(parsed).toEqual({
      message: 'Cluster c1 could not be found.',
      code: 'client',
      title: 'Cluster c1 could not be found.',
      detail: 'more',
    });
  });

  it('reads OCI-style {errors:[{code,message}]}', () => {
    expect(
      parseOpenStackError({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] })?.code,
    ).toBe('MANIFEST_UNKNOWN');
  });

  it('reads Glance text/html pages: the sentence after the heading', () => {
    const html =
      '<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n <body>\n  <h1>404 Not Found</h1>\n  No image found with ID 42<br /><br />\n\n\n\n </body>\n</html>';
    expect(parseOpenStackError(html)).toEqual({
      message: 'No image found with ID 42',
      title: '404 Not Found',
    });
  });

  it('falls back to the title of an html page without text', () => {
    expect(
      parseOpenStackError(
        '<html><head><title>503 Service Unavailable</title></head><body><h1>503</h1></body></html>',
      ),
    ).toEqual({
      message: '503 Service Unavailable',
      title: '503 Service Unavailable',
    });
  });

  it('reads plain text and JSON text', () => {
    expect(parseOpenStackError('400 Bad Request\n\nbad   thing\n')?.message).toBe(
      '400 Bad Request bad thing',
    );
    expect(parseOpenStackError('{"badRequest": {"message": "Invalid flavor", "code": 400}}')?.code).toBe(
      'badRequest',
    );
    expect(parseOpenStackError(Buffer.from('{"message": "m"}'))?.message).toBe('m');
  });

  it('returns undefined when nothing is usable', () => {
    expect(parseOpenStackError(undefined)).toBeUndefined();
    expect(parseOpenStackError('')).toBeUndefined();
    expect(parseOpenStackError({ a: 1, b: 2 })).toBeUndefined();
    expect(parseOpenStackError([1, 2])).toBeUndefined();
  });
});

describe('toOpenStackError', () => {
  const config = {
    method: 'get',
    url: '/servers/x?secret=1',
    baseURL: 'http://nova/v2.1',
    headers: new AxiosHeaders(),
  } as InternalAxiosRequestConfig;

  it('maps an HTTP answer to OpenStackHttpError with request id and without the query string', () => {
    const res = {
      status: 404,
      statusText: 'Not Found',
      headers: new AxiosHeaders({ 'x-compute-request-id': 'req-1' }),
      config,
      data: { itemNotFound: { message: 'gone', code: 404 } },
    };
    const mapped = toOpenStackError(new AxiosError('x', 'ERR_BAD_REQUEST', config, {}, res));
    expect(mapped).toBeInstanceOf(OpenStackHttpError);
    const e = mapped as OpenStackHttpError;
    expect([e.status, e.code, e.message, e.method, e.url, e.requestId]).toEqual([
      404,
      'itemNotFound',
      'gone',
      'GET',
      'http://nova/v2.1/servers/x',
      'req-1',
    ]);
  });

  it('falls back to the status line when the body says nothing', () => {
    const res = { status: 502, statusText: 'Bad Gateway', headers: new AxiosHeaders(), config, data: '' };
    const e = toOpenStackError(
      new AxiosError('x', 'ERR_BAD_RESPONSE', config, {}, res),
    ) as OpenStackHttpError;
    expect(e.message).toBe('HTTP 502 Bad Gateway');
  });

  it('maps a missing answer to OpenStackConnectionError and keeps no reference to the request config', () => {
    const cfg = {
      ...config,
      headers: new AxiosHeaders({ 'X-Auth-Token': 'secret-token' }),
    } as InternalAxiosRequestConfig;
    const e = toOpenStackError(new AxiosError('connect ECONNREFUSED', 'ECONNREFUSED', cfg, {}));
    expect(e).toBeInstanceOf(OpenStackConnectionError);
    expect((e as OpenStackConnectionError).code).toBe('ECONNREFUSED');
    expect((e as Error).cause).toBeUndefined();
    expect(JSON.stringify(e)).not.toContain('secret-token');
  });

  it('passes other errors through', () => {
    const plain = new Error('bug');
    expect(toOpenStackError(plain)).toBe(plain);
  });
});
