// Protects what must not sit in the database in clear: CA private keys, the
// per-cluster node secrets, swarm join tokens. AES-256-GCM under a key
// derived (scrypt) from [certificates] encryption_key; each value gets its own
// random nonce, and the tag makes any tampering fail loudly.

import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';

const VERSION = 'v1';
const SALT = 'berth-cluster-service/secret-box/v1';

export class SecretBox {
  private readonly key: Buffer;

  constructor(passphrase: string) {
    if (passphrase.length < 16) {
      throw new Error(
        '[certificates] encryption_key must be at least 16 characters (use `openssl rand -base64 32`)',
      );
    }
    this.key = scryptSync(passphrase, SALT, 32);
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
  }

  open(sealed: string): string {
    const [version, b64] = sealed.split(':', 2);
    if (version !== VERSION || !b64) throw new Error('not a sealed value');
    const raw = Buffer.from(b64, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    try {
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      throw new Error(
        'sealed value cannot be opened: wrong [certificates] encryption_key, or the data was altered',
      );
    }
  }
}
