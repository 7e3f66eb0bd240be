import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';

import {
  KeystoneSession,
  OpenStackConnectionError,
  OpenStackHttpError,
  PasswordAuth,
} from 'keystone-client-ts';

import { FakeKeystone } from '../../../keystone-client-ts/src/testing/fake-keystone';
import type { FakeReply, FakeRequest } from '../../../keystone-client-ts/src/testing/fake-http';
import { GlanceClient } from './client';
import { imageProperty } from './types';

function setup(handler: (req: FakeRequest) => FakeReply, endpointOverride?: string) {
  const ks = new FakeKeystone();
  const seen: FakeRequest[] = [];
  ks.serviceHandler = (req) => {
    seen.push(req);
    return handler(req);
  };
  const session = new KeystoneSession({
    authUrl: 'http://keystone.example/v3',
    auth: new PasswordAuth({
      username: 'u',
      userDomainName: 'Default',
      password: 'p',
      scope: { projectId: 'p1' },
    }),
    adapter: ks.adapter,
  });
  const glance = new GlanceClient(session, {
    adapter: ks.adapter,
    ...(endpointOverride ? { endpointOverride } : {}),
  });
  return { glance, seen, ks, session };
}

const img = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  name: id,
  status: 'active',
  size: 3,
  tags: [],
  ...extra,
});

describe('GlanceClient: images', () => {
  it('creates an image with extra properties flattened into the body', async () => {
    const { glance, seen } = setup(() => ({
      status: 201,
      data: img('i1', { status: 'queued', berth_x: 'y' }),
    }));
    const created = await glance.createImage({
      name: 'n',
      container_format: 'bare',
      disk_format: 'raw',
      os_hidden: true,
      properties: { berth_x: 'y' },
    });
    expect(imageProperty(created, 'berth_x')).toBe('y');
    expect(seen[0]).toMatchObject({ method: 'POST', url: 'http://glance.example/v2/images' });
    expect(seen[0]?.body).toEqual({
      name: 'n',
      container_format: 'bare',
      disk_format: 'raw',
      os_hidden: true,
      berth_x: 'y',
    });
    await expect(glance.createImage({ properties: { owner: 'x' } })).rejects.toThrow(/attribute/);
  });

  it('lists by property across pages, following next', async () => {
    const { glance, seen } = setup((req) =>
      req.url.includes('marker=')
        ? { status: 200, data: { images: [img('c')] } }
        : {
            status: 200,
            data: { images: [img('a'), img('b')], next: '/v2/images?marker=b&berth_k=v&os_hidden=true' },
          },
    );
    const all = await glance.listImagesByProperties(
      { berth_k: 'v' },
      { os_hidden: true, tags: ['t1', 't2'] },
    );
    expect(all.map((i) => i.id)).toEqual(['a', 'b', 'c']);
    const first = new URL(seen[0]?.url as string);
    expect(first.searchParams.get('berth_k')).toBe('v');
    expect(first.searchParams.get('os_hidden')).toBe('true');
    expect(first.searchParams.getAll('tag')).toEqual(['t1', 't2']);
    expect(seen[1]?.url).toBe('http://glance.example/v2/images?marker=b&berth_k=v&os_hidden=true');
  });

  it('updates with the v2.1 JSON-patch media type, deletes, and says undefined / false for unknown images', async () => {
    const { glance, seen } = setup((req) => {
      if (req.method === 'PATCH') return { status: 200, data: img('i1', { name: 'new' }) };
      return {
        status: 404,
        data: '<html><body><h1>404 Not Found</h1>No image found with ID i9</body></html>',
      };
    });
    await glance.updateImage('i1', { set: { name: 'new', berth_a: '1' }, remove: ['berth_b'] });
    expect(seen[0]?.headers['content-type']).toBe('application/openstack-images-v2.1-json-patch');
    expect(seen[0]?.body).toEqual([
      { op: 'add', path: '/name', value: 'new' },
      { op: 'add', path: '/berth_a', value: '1' },
      { op: 'remove', path: '/berth_b' },
    ]);
    expect(await glance.findImage('i9')).toBeUndefined();
    expect(await glance.deleteImage('i9')).toBe(false);
    await expect(glance.getImage('i9')).rejects.toMatchObject({
      status: 404,
      message: expect.stringContaining('No image found'),
    });
  });
});

describe('GlanceClient: image data', () => {
  let server: Server;
  let url: string;
  const received: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: Buffer }> =
    [];
  let reply: (
    req: IncomingMessage,
    body: Buffer,
  ) => { status: number; headers?: Record<string, string>; body?: Buffer | string };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        const body = Buffer.concat(parts);
        received.push({ method: req.method as string, url: req.url as string, headers: req.headers, body });
        const r = reply(req, body);
        res.writeHead(r.status, r.headers ?? {});
        res.end(r.body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => (received.length = 0));

  it('streams an upload with Content-Length, or chunked when the size is unknown', async () => {
    reply = () => ({ status: 204 });
    const { glance } = setup(() => ({ status: 500 }), `${url}/v2`);
    await glance.uploadData('i1', Readable.from([Buffer.from('abc'), Buffer.from('def')]), { size: 6 });
    await glance.uploadData('i2', Readable.from([Buffer.from('xyz')]));
    expect(
      received.map((r) => [
        r.method,
        r.url,
        r.headers['content-length'],
        r.headers['transfer-encoding'],
        r.body.toString(),
      ]),
    ).toEqual([
      ['PUT', '/v2/images/i1/file', '6', undefined, 'abcdef'],
      ['PUT', '/v2/images/i2/file', undefined, 'chunked', 'xyz'],
    ]);
    expect(received[0]?.headers['x-auth-token']).toMatch(/^tok-/);
    expect(received[0]?.headers['content-type']).toBe('application/octet-stream');
  });

  it('retries once with a fresh token after 401 when the body can be re-opened', async () => {
    let n = 0;
    reply = () => (++n === 1 ? { status: 401, body: 'expired' } : { status: 204 });
    const { glance } = setup(() => ({ status: 500 }), url);
    await glance.uploadData('i1', () => Readable.from([Buffer.from('again')]));
    expect(received.map((r) => r.body.toString())).toEqual(['again', 'again']);
    expect(received[0]?.headers['x-auth-token']).not.toBe(received[1]?.headers['x-auth-token']);
  });

  it('downloads ranges as streams and reports Glance errors and images without data', async () => {
    reply = (req): ReturnType<typeof reply> => {
      if (req.url?.includes('/nodata/')) return { status: 204 };
      if (req.url?.includes('/gone/'))
        return {
          status: 404,
          headers: { 'content-type': 'text/plain' },
          body: 'No image found with ID gone',
        };
      return { status: 206, headers: { 'content-range': 'bytes 2-4/10', 'content-md5': 'abc' }, body: 'cde' };
    };
    const { glance } = setup(() => ({ status: 500 }), url);
    const d = await glance.downloadData('i1', { range: { start: 2, end: 4 } });
    expect(received[0]?.headers.range).toBe('bytes=2-4');
    expect([d.status, d.contentRange, d.contentLength, d.checksum]).toEqual([206, 'bytes 2-4/10', 3, 'abc']);
    const chunks: Buffer[] = [];
    for await (const c of d.body) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('cde');
    await expect(glance.downloadData('nodata')).rejects.toMatchObject({ status: 204 });
    const e = await glance.downloadData('gone').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(OpenStackHttpError);
    expect((e as OpenStackHttpError).message).toBe('No image found with ID gone');
  });

  it('reports an unreachable Glance as a connection error', async () => {
    const { glance } = setup(() => ({ status: 500 }), 'http://127.0.0.1:1');
    await expect(glance.downloadData('x')).rejects.toBeInstanceOf(OpenStackConnectionError);
  });
});
