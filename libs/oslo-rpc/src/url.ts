// Broker addresses. Accepts oslo's transport_url
// (`rabbit://user:pass@host1:5672,user:pass@host2:5672/vhost`, several hosts
// for failover, each with its own credentials) as well as amqplib's
// `amqp://` / `amqps://` URLs, so a service can reuse nova.conf's value.

export interface BrokerAddress {
  protocol: 'amqp' | 'amqps';
  hostname: string;
  port: number;
  username: string;
  password: string;
  vhost: string;
}

export function parseTransportUrl(url: string): BrokerAddress[] {
  const m = /^([a-z0-9+]+):\/\/([^/?#]*)(\/[^?#]*)?/i.exec(url.trim());
  if (!m) throw new Error(`invalid transport URL ${JSON.stringify(redactUrl(url))}`);
  const scheme = (m[1] ?? '').toLowerCase();
  if (!['rabbit', 'amqp', 'amqps', 'kombu'].includes(scheme)) {
    throw new Error(`unsupported transport URL scheme ${scheme}`);
  }
  const protocol = scheme === 'amqps' ? 'amqps' : 'amqp';
  const path = m[3] ?? '';
  // kombu: empty path or "/" is the default vhost "/"; "/x" is vhost "x"
  const vhost = path.length > 1 ? decodeURIComponent(path.slice(1)) : '/';
  const hosts = (m[2] ?? '').split(',').filter((h) => h !== '');
  if (hosts.length === 0) hosts.push('localhost');
  return hosts.map((netloc) => {
    const at = netloc.lastIndexOf('@');
    const cred = at >= 0 ? netloc.slice(0, at) : '';
    const hostport = at >= 0 ? netloc.slice(at + 1) : netloc;
    const colon = cred.indexOf(':');
    const username = decodeURIComponent(colon >= 0 ? cred.slice(0, colon) : cred) || 'guest';
    const password = colon >= 0 ? decodeURIComponent(cred.slice(colon + 1)) : 'guest';
    let hostname = hostport;
    let port = protocol === 'amqps' ? 5671 : 5672;
    const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(hostport);
    if (v6) {
      hostname = v6[1] ?? '';
      if (v6[2]) port = Number(v6[2]);
    } else if (hostport.includes(':')) {
      const i = hostport.lastIndexOf(':');
      hostname = hostport.slice(0, i);
      port = Number(hostport.slice(i + 1));
    }
    if (!hostname) hostname = 'localhost';
    if (!Number.isInteger(port) || port <= 0 || port > 65535)
      throw new Error(`invalid port in transport URL`);
    return { protocol, hostname, port, username, password, vhost };
  });
}

/** A URL fit for logs: passwords masked. */
export function redactUrl(url: string): string {
  return url.replace(/([/,][^:/@,]*):([^@/,]*)@/g, '$1:***@');
}

export function describeAddress(a: BrokerAddress): string {
  return `${a.protocol}://${a.username}@${a.hostname}:${a.port}/${a.vhost === '/' ? '' : encodeURIComponent(a.vhost)}`;
}
