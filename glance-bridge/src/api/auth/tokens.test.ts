import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { loadSigningKey, TokenError, TokenSigner } from './tokens';

describe('registry tokens', () => {
  const key = Buffer.from('k'.repeat(32));
  const access = [
    { type: 'repository' as const, name: 'p/app', actions: ['pull' as const], project_id: 'p' },
  ];

  it('round-trips claims and refuses tampering, other keys, other audiences and expiry', () => {
    let now = 1_800_000_000_000;
    const signer = new TokenSigner(key, 'bridge', 'svc', 60, () => now);
    const { token, claims } = signer.issue({ sub: 'u1', access, berth: { projects: ['p'] } });
    expect(signer.verify(token)).toEqual(claims);
    expect(claims.exp - claims.iat).toBe(60);
    const [h, b, s] = token.split('.') as [string, string, string];
    const forged = Buffer.from(
      JSON.stringify({ ...claims, access: [{ ...access[0], actions: ['pull', 'push'] }] }),
    ).toString('base64url');
    const reason = (t: string, v = signer) => {
      try {
        v.verify(t);
        return 'valid';
      } catch (e) {
        return (e as TokenError).reason;
      }
    };
    expect(reason(`${h}.${forged}.${s}`)).toBe('signature');
    expect(reason('a.b')).toBe('malformed');
    expect(reason(token, new TokenSigner(Buffer.from('other'), 'bridge', 'svc', 60, () => now))).toBe(
      'signature',
    );
    expect(reason(token, new TokenSigner(key, 'bridge', 'other-svc', 60, () => now))).toBe('audience');
    now += 61_000;
    expect(reason(token)).toBe('expired');
    expect(b.length).toBeGreaterThan(0);
  });

  it('keeps a generated key in a 0600 file, or uses the configured secret', () => {
    const root = mkdtempSync(join(tmpdir(), 'gb-key-'));
    const file = join(root, 'sub', 'token.key');
    const k1 = loadSigningKey('', file);
    expect(loadSigningKey('', file).equals(k1)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadSigningKey('s3cret', file).toString()).toBe('s3cret');
    rmSync(root, { recursive: true, force: true });
  });
});
