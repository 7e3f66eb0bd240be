import { parseTransportUrl, redactUrl } from './url';

describe('parseTransportUrl', () => {
  it('reads an oslo transport_url with several hosts', () => {
    expect(parseTransportUrl('rabbit://nova:s%40cret@10.0.0.1:5672,nova:pw@10.0.0.2/nova')).toEqual([
      {
        protocol: 'amqp',
        hostname: '10.0.0.1',
        port: 5672,
        username: 'nova',
        password: 's@cret',
        vhost: 'nova',
      },
      { protocol: 'amqp', hostname: '10.0.0.2', port: 5672, username: 'nova', password: 'pw', vhost: 'nova' },
    ]);
  });

  it('defaults: guest/guest, port 5672, vhost /', () => {
    expect(parseTransportUrl('amqp://localhost')).toEqual([
      {
        protocol: 'amqp',
        hostname: 'localhost',
        port: 5672,
        username: 'guest',
        password: 'guest',
        vhost: '/',
      },
    ]);
    expect(parseTransportUrl('rabbit://u:p@h:1234/')[0]?.vhost).toBe('/');
    expect(parseTransportUrl('amqps://h')[0]).toMatchObject({ protocol: 'amqps', port: 5671 });
    expect(parseTransportUrl('rabbit://u:p@[::1]:5673/')[0]).toMatchObject({ hostname: '::1', port: 5673 });
  });

  it('rejects what it cannot use', () => {
    expect(() => parseTransportUrl('kafka://h')).toThrow('unsupported');
    expect(() => parseTransportUrl('nonsense')).toThrow('invalid transport URL');
    expect(() => parseTransportUrl('rabbit://h:99999/')).toThrow('invalid port');
  });

  it('redacts passwords for logs', () => {
    expect(redactUrl('rabbit://nova:secret@h1:5672,nova:other@h2/')).toBe(
      'rabbit://nova:***@h1:5672,nova:***@h2/',
    );
  });
});
