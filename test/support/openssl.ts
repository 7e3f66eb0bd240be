// Certificate requests as a client or a node makes them, with Debian's openssl.
import { execFileSync } from 'node:child_process';

/** A new RSA 2048 key (unencrypted) in `keyFile` and a CSR for /CN=`cn` in `csrFile`. */
export function newCsr(keyFile: string, csrFile: string, cn: string): void {
  execFileSync(
    'openssl',
    [
      'req',
      '-new',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      keyFile,
      '-subj',
      `/CN=${cn}`,
      '-out',
      csrFile,
    ],
    { stdio: 'ignore' },
  );
}
