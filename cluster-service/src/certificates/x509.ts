// X.509 for cluster CAs, with Node's WebCrypto and @peculiar/x509 (pure
// TypeScript, no native code). Mirrors magnum/common/x509/operations.py: a
// CA per cluster whose subject and issuer are CN=<cluster name>, CSRs signed
// keeping their subject, validity from a day ago to the configured term,
// SHA-256. Unlike Magnum, a CSR must carry a valid self-signature, and the
// extensions it may ask for are filtered (never a CA).

import 'reflect-metadata';

import { createHash, randomBytes, webcrypto } from 'node:crypto';

import * as x509 from '@peculiar/x509';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const RSA = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
};
const DAY = 86_400_000;

export interface KeyPairPem {
  certPem: string;
  /** PKCS#8, unencrypted: the caller seals it before storing */
  keyPem: string;
}

export class InvalidCsrError extends Error {}

function serial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f; // positive
  return b.toString('hex');
}

function toPem(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;
}

function fromPem(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----(BEGIN|END)[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

/** A self-signed CA: CN=<name>, basicConstraints CA (pathlen 0), keyCertSign + cRLSign. */
export async function generateCa(name: string, o: { keySize: number; days: number }): Promise<KeyPairPem> {
  const keys = (await webcrypto.subtle.generateKey({ ...RSA, modulusLength: o.keySize }, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: [{ CN: [name] }],
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + o.days * DAY),
    signingAlgorithm: RSA,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { certPem: cert.toString('pem') + '\n', keyPem: toPem(pkcs8, 'PRIVATE KEY') };
}

async function importCaKey(keyPem: string): Promise<CryptoKey> {
  return (await webcrypto.subtle.importKey('pkcs8', fromPem(keyPem), RSA, false, ['sign'])) as CryptoKey;
}

/** Extensions a requester may ask for; everything else in a CSR is dropped. */
const ALLOWED = new Set([
  '2.5.29.15', // keyUsage
  '2.5.29.37', // extendedKeyUsage
  '2.5.29.17', // subjectAltName
]);

export interface SignOptions {
  days: number;
  /** replaces the CSR's extensions (node server certificates) */
  serverNames?: { ips: string[]; dns: string[] };
}

/** Signs a PEM CSR with the CA; the certificate keeps the CSR's subject. */
export async function signCsr(csrPem: string, ca: KeyPairPem, o: SignOptions): Promise<string> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem.trim());
  } catch {
    throw new InvalidCsrError('Received invalid csr: not a PEM certificate signing request.');
  }
  if (!(await csr.verify().catch(() => false))) {
    throw new InvalidCsrError('Received invalid csr: its signature does not verify.');
  }
  const caCert = new x509.X509Certificate(ca.certPem);
  const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(false, undefined, true)];
  if (o.serverNames) {
    extensions.push(
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]),
      new x509.SubjectAlternativeNameExtension([
        ...o.serverNames.ips.map((value) => ({ type: 'ip' as const, value })),
        ...o.serverNames.dns.map((value) => ({ type: 'dns' as const, value })),
      ]),
    );
  } else {
    for (const e of csr.extensions) if (ALLOWED.has(e.type)) extensions.push(e);
  }
  extensions.push(await x509.AuthorityKeyIdentifierExtension.create(caCert));
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: csr.subjectName,
    issuer: caCert.subjectName,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + o.days * DAY),
    publicKey: csr.publicKey,
    signingKey: await importCaKey(ca.keyPem),
    signingAlgorithm: RSA,
    extensions,
  });
  return cert.toString('pem') + '\n';
}

/** SHA-256 of the certificate's DER, hex: how nodes tell which CA they hold. */
export function fingerprint(certPem: string): string {
  return createHash('sha256').update(fromPem(certPem)).digest('hex');
}
