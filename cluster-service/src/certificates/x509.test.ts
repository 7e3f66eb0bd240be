import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { SecretBox } from './secret-box';
import { fingerprint, generateCa, InvalidCsrError, signCsr } from './x509';

// openssl is the independent judge of what we produce
function openssl(args: string[], input?: string): string {
  return execFileSync('openssl', args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

describe('cluster CA', () => {
  const dir = mkdtempSync(join(tmpdir(), 'x509-'));
  let ca: Awaited<ReturnType<typeof generateCa>>;

  beforeAll(async () => {
    ca = await generateCa('demo-cluster', { keySize: 2048, days: 30 });
    writeFileSync(join(dir, 'ca.pem'), ca.certPem);
  });

  it('is a CA named after the cluster', () => {
    const text = openssl(['x509', '-noout', '-text'], ca.certPem);
    expect(text).toMatch(/Subject: CN ?= ?demo-cluster/);
    expect(text).toMatch(/Issuer: CN ?= ?demo-cluster/);
    expect(text).toMatch(/CA:TRUE, pathlen:0/);
    expect(text).toMatch(/Certificate Sign, CRL Sign/);
    expect(fingerprint(ca.certPem)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('signs a client CSR (as `coe cluster config` makes it), keeping its subject', async () => {
    openssl([
      'req',
      '-new',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      join(dir, 'k.pem'),
      '-subj',
      '/CN=admin/O=system:masters',
      '-out',
      join(dir, 'c.csr'),
    ]);
    const csr = openssl(['req', '-in', join(dir, 'c.csr')]);
    const cert = await signCsr(csr, ca, { days: 10 });
    writeFileSync(join(dir, 'cert.pem'), cert);
    expect(openssl(['verify', '-CAfile', join(dir, 'ca.pem'), join(dir, 'cert.pem')])).toMatch(/OK/);
    const text = openssl(['x509', '-noout', '-text', '-in', join(dir, 'cert.pem')]);
    expect(text).toMatch(/Subject: CN ?= ?admin, O ?= ?system:masters/);
    expect(text).toMatch(/CA:FALSE/);
  });

  it('signs node server certificates with their addresses', async () => {
    openssl([
      'req',
      '-new',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      join(dir, 'n.pem'),
      '-subj',
      '/CN=node-0',
      '-out',
      join(dir, 'n.csr'),
    ]);
    const cert = await signCsr(openssl(['req', '-in', join(dir, 'n.csr')]), ca, {
      days: 10,
      serverNames: { ips: ['10.0.0.5'], dns: ['node-0'] },
    });
    const text = openssl(['x509', '-noout', '-text'], cert);
    expect(text).toMatch(/IP Address:10\.0\.0\.5/);
    expect(text).toMatch(/DNS:node-0/);
    expect(text).toMatch(/TLS Web Server Authentication, TLS Web Client Authentication/);
  });

  it('refuses garbage and CSRs whose signature does not verify', async () => {
    await expect(signCsr('not a csr', ca, { days: 1 })).rejects.toBeInstanceOf(InvalidCsrError);
    const csr = openssl(['req', '-in', join(dir, 'c.csr')]);
    const lines = csr.trim().split('\n');
    // flip a character in the signature (near the end of the base64 body)
    const i = lines.length - 2;
    const l = lines[i]!;
    lines[i] = l.slice(0, 10) + (l[10] === 'A' ? 'B' : 'A') + l.slice(11);
    await expect(signCsr(lines.join('\n'), ca, { days: 1 })).rejects.toBeInstanceOf(InvalidCsrError);
  });
});

describe('SecretBox', () => {
  it('round-trips, uses a fresh nonce each time, and refuses another key or tampering', () => {
    const box = new SecretBox('0123456789abcdef0123456789abcdef');
    const a = box.seal('private key');
    expect(a).not.toContain('private key');
    expect(box.seal('private key')).not.toBe(a);
    expect(box.open(a)).toBe('private key');
    expect(() => new SecretBox('another key of enough length').open(a)).toThrow(/cannot be opened/);
    const raw = Buffer.from(a.slice(3), 'base64');
    raw[raw.length - 1] = raw[raw.length - 1]! ^ 1;
    expect(() => box.open(`v1:${raw.toString('base64')}`)).toThrow(/cannot be opened/);
    expect(() => new SecretBox('short')).toThrow(/at least 16/);
  });
});
