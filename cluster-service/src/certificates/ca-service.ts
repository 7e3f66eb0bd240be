// The CAs of each cluster: created on first need, private keys sealed in the
// database, never returned by any API. Signing is done here, with the key
// opened only for the signature.

import type { SecretBox } from './secret-box';
import { fingerprint, generateCa, signCsr, type KeyPairPem } from './x509';
import type { CaRepo } from '../db/misc';
import { nowIso } from '../db/util';

export type CaType = 'default' | 'etcd' | 'front-proxy';

export interface CaSettings {
  keySize: number;
  caDays: number;
  certDays: number;
}

export class CaService {
  /** fingerprints by cluster/type, so heartbeats do not re-hash the CA */
  private readonly fps = new Map<string, string>();

  constructor(
    private readonly repo: CaRepo,
    private readonly box: SecretBox,
    private readonly s: CaSettings,
  ) {}

  /** The cluster's CA of that type, generated (once, even under races) when missing. */
  async ensure(clusterUuid: string, clusterName: string, type: CaType = 'default'): Promise<KeyPairPem> {
    const have = await this.repo.get(clusterUuid, type);
    const row =
      have ??
      (await (async () => {
        const ca = await generateCa(type === 'default' ? clusterName : `${clusterName}-${type}`, {
          keySize: this.s.keySize,
          days: this.s.caDays,
        });
        return this.repo.putIfAbsent({
          cluster_id: clusterUuid,
          ca_type: type,
          cert_pem: ca.certPem,
          key_enc: this.box.seal(ca.keyPem),
          created_at: nowIso(),
        });
      })());
    return { certPem: row.cert_pem, keyPem: this.box.open(row.key_enc) };
  }

  async certPem(clusterUuid: string, clusterName: string, type: CaType = 'default'): Promise<string> {
    const row = await this.repo.get(clusterUuid, type);
    return row ? row.cert_pem : (await this.ensure(clusterUuid, clusterName, type)).certPem;
  }

  async fingerprint(clusterUuid: string, clusterName: string): Promise<string> {
    const pem = await this.certPem(clusterUuid, clusterName);
    const key = `${clusterUuid}/${pem.length}/${pem.slice(-80)}`;
    let fp = this.fps.get(key);
    if (!fp) {
      fp = fingerprint(pem);
      if (this.fps.size > 10_000) this.fps.clear();
      this.fps.set(key, fp);
    }
    return fp;
  }

  /** Replaces the cluster CA with a new key pair (`PATCH /v1/certificates/{cluster}`). */
  async rotate(clusterUuid: string, clusterName: string): Promise<void> {
    const ca = await generateCa(clusterName, { keySize: this.s.keySize, days: this.s.caDays });
    await this.repo.replace({
      cluster_id: clusterUuid,
      ca_type: 'default',
      cert_pem: ca.certPem,
      key_enc: this.box.seal(ca.keyPem),
      created_at: nowIso(),
    });
  }

  /** Signs a client's CSR (`POST /v1/certificates`), keeping its subject. */
  async signClient(
    clusterUuid: string,
    clusterName: string,
    csrPem: string,
    type: CaType = 'default',
  ): Promise<string> {
    return signCsr(csrPem, await this.ensure(clusterUuid, clusterName, type), { days: this.s.certDays });
  }

  /** Signs a node's CSR as a server certificate for its addresses. */
  async signServer(
    clusterUuid: string,
    clusterName: string,
    csrPem: string,
    names: { ips: string[]; dns: string[] },
  ): Promise<string> {
    return signCsr(csrPem, await this.ensure(clusterUuid, clusterName), {
      days: this.s.certDays,
      serverNames: names,
    });
  }
}
