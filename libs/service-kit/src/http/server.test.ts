import pino from 'pino';

import { ApiError } from './errors';
import { ServiceMetrics } from './metrics';
import { createApiServer, ErrorRenderer } from './server';

const render: ErrorRenderer = (err) => ({ body: { error: { code: err.code, message: err.message } } });

function makeApp(extra: Partial<Parameters<typeof createApiServer>[0]> = {}) {
  const app = createApiServer({
    service: 't',
    logger: pino({ level: 'silent' }),
    metrics: new ServiceMetrics('t'),
    renderError: render,
    bodyLimit: 64,
    ...extra,
  });
  app.post(
    '/things',
    { schema: { body: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } } } },
    async (req) => ({ got: req.body, auth: req.auth ?? null }),
  );
  app.get('/boom', async () => {
    throw new Error('secret internals at /src/x.ts:12');
  });
  app.get('/refuse', async () => {
    throw new ApiError(409, 'InUse', 'template is in use');
  });
  app.get('/open', { config: { public: true } }, async () => ({ ok: true }));
  return app;
}

describe('createApiServer', () => {
  it('answers with an OpenStack request id and accepts valid input', async () => {
    const res = await makeApp().inject({ method: 'POST', url: '/things', payload: { n: 1 } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-openstack-request-id']).toMatch(/^req-[0-9a-f-]{36}$/);
    expect(res.json()).toEqual({ got: { n: 1 }, auth: null });
  });

  it.each([
    [
      'malformed JSON',
      { payload: '{"n":', headers: { 'content-type': 'application/json' } },
      400,
      'BadRequest',
    ],
    ['a schema violation', { payload: { n: 'x' } }, 400, 'InvalidParameterValue'],
    ['a missing field', { payload: {} }, 400, 'InvalidParameterValue'],
    ['a body over the limit', { payload: { n: 1, pad: 'x'.repeat(200) } }, 413, 'RequestEntityTooLarge'],
    [
      'an unsupported media type',
      { payload: 'n=1', headers: { 'content-type': 'text/x-nope' } },
      415,
      'UnsupportedMediaType',
    ],
  ])('turns %s into a %d in the API format', async (_what, req, status, code) => {
    const res = await makeApp().inject({ method: 'POST', url: '/things', ...(req as object) });
    expect(res.statusCode).toBe(status);
    expect(res.json().error.code).toBe(code);
  });

  it('answers unknown routes with 404 in the API format', async () => {
    const res = await makeApp().inject({ method: 'GET', url: '/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('NotFound');
  });

  it('renders ApiErrors as given and hides internals of unexpected errors', async () => {
    const app = makeApp();
    const refused = await app.inject({ method: 'GET', url: '/refuse' });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toEqual({ error: { code: 'InUse', message: 'template is in use' } });
    const boom = await app.inject({ method: 'GET', url: '/boom' });
    expect(boom.statusCode).toBe(500);
    expect(boom.body).not.toContain('secret internals');
  });

  it('authenticates every route except public ones', async () => {
    const authenticate = jest.fn(async (req: { headers: Record<string, unknown> }) => {
      if (req.headers['x-auth-token'] !== 'good') {
        throw new ApiError(401, 'Unauthorized', 'Authentication required', undefined, {
          'www-authenticate': 'Keystone uri="http://ks"',
        });
      }
      return { user: 'u1' };
    });
    const app = makeApp({ authenticate });
    const denied = await app.inject({ method: 'POST', url: '/things', payload: { n: 1 } });
    expect(denied.statusCode).toBe(401);
    expect(denied.headers['www-authenticate']).toBe('Keystone uri="http://ks"');
    const ok = await app.inject({
      method: 'POST',
      url: '/things',
      payload: { n: 1 },
      headers: { 'x-auth-token': 'good' },
    });
    expect(ok.json().auth).toEqual({ user: 'u1' });
    expect((await app.inject({ method: 'GET', url: '/open' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/healthcheck' })).body).toBe('OK');
    expect(authenticate).toHaveBeenCalledTimes(2);
  });

  it('reports failing health checks with 503', async () => {
    const app = makeApp({
      healthChecks: { db: async () => undefined, glance: async () => Promise.reject(new Error('down')) },
    });
    const res = await app.inject({ method: 'GET', url: '/healthcheck?detailed' });
    expect(res.statusCode).toBe(503);
    // names the failing dependency, never its error text (the endpoint is public)
    expect(res.json()).toEqual({ status: 'FAILED', checks: { db: 'OK', glance: 'FAILED' } });
    expect(res.body).not.toContain('down');
  });

  it('exposes request metrics by route template', async () => {
    const app = makeApp();
    await app.inject({ method: 'POST', url: '/things', payload: { n: 2 } });
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.body).toContain(
      'http_requests_total{method="POST",route="/things",status="200",service="t"} 1',
    );
  });
});
