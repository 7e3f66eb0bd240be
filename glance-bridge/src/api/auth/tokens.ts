// Registry tokens: compact JWTs (HS256) as the Docker token spec describes,
// issued by /token and checked on every /v2 request. Claims carry the
// granted access per repository together with the Keystone project it
// resolved to, so a request needs no Keystone call at all.

import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export type Action = 'pull' | 'push' | 'delete';

export interface RepositoryAccess {
  type: 'repository';
  /** the repository name as the client asked for it */
  name: string;
  actions: Action[];
  /** the Keystone project the name's first component resolved to */
  project_id?: string;
}

export interface CatalogAccess {
  type: 'registry';
  name: 'catalog';
  actions: ['*'];
}

export type AccessEntry = RepositoryAccess | CatalogAccess;

export interface RegistryClaims {
  iss: string;
  /** Keystone user id, or "anonymous" */
  sub: string;
  aud: string;
  iat: number;
  nbf: number;
  exp: number;
  jti: string;
  access: AccessEntry[];
  /** Berth's: what the catalog may list */
  berth: { user_name?: string; projects: string[] | '*'; anonymous?: boolean };
}

export class TokenError extends Error {
  constructor(readonly reason: 'malformed' | 'signature' | 'expired' | 'audience') {
    super(`invalid registry token (${reason})`);
  }
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** Reads the signing key from config, else from `keyFile`, creating it (0600) on first use. */
export function loadSigningKey(secret: string, keyFile: string): Buffer {
  if (secret) return Buffer.from(secret, 'utf8');
  if (existsSync(keyFile)) return Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64');
  const key = randomBytes(32);
  mkdirSync(dirname(keyFile), { recursive: true });
  writeFileSync(keyFile, key.toString('base64'), { mode: 0o600 });
  chmodSync(keyFile, 0o600);
  return key;
}

export class TokenSigner {
  constructor(
    private readonly key: Buffer,
    readonly issuer: string,
    readonly audience: string,
    readonly lifetimeSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  issue(c: { sub: string; access: AccessEntry[]; berth: RegistryClaims['berth'] }): {
    token: string;
    claims: RegistryClaims;
  } {
    const iat = Math.floor(this.now() / 1000);
    const claims: RegistryClaims = {
      iss: this.issuer,
      sub: c.sub,
      aud: this.audience,
      iat,
      nbf: iat - 5,
      exp: iat + this.lifetimeSeconds,
      jti: randomUUID(),
      access: c.access,
      berth: c.berth,
    };
    const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const body = b64url(JSON.stringify(claims));
    const sig = createHmac('sha256', this.key).update(`${head}.${body}`).digest('base64url');
    return { token: `${head}.${body}.${sig}`, claims };
  }

  verify(token: string): RegistryClaims {
    const parts = token.split('.');
    if (parts.length !== 3) throw new TokenError('malformed');
    const [head, body, sig] = parts as [string, string, string];
    const expected = createHmac('sha256', this.key).update(`${head}.${body}`).digest();
    const given = Buffer.from(sig, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      throw new TokenError('signature');
    let claims: RegistryClaims;
    try {
      const h = JSON.parse(Buffer.from(head, 'base64url').toString('utf8')) as { alg?: string };
      if (h.alg !== 'HS256') throw new TokenError('malformed');
      claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as RegistryClaims;
    } catch (e) {
      if (e instanceof TokenError) throw e;
      throw new TokenError('malformed');
    }
    const now = Math.floor(this.now() / 1000);
    if (typeof claims.exp !== 'number' || now >= claims.exp) throw new TokenError('expired');
    if (claims.aud !== this.audience) throw new TokenError('audience');
    if (!Array.isArray(claims.access)) throw new TokenError('malformed');
    return claims;
  }
}
