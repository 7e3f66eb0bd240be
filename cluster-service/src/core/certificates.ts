// `GET /v1/certificates/{cluster}`, `POST /v1/certificates` and CA rotation
// (magnum/api/controllers/v1/certificate.py). Certificates belong to the
// user who created the cluster (and admins); private keys never leave.

import { ApiError } from '@berth/service-kit';
import type { RequestContext } from 'keystone-client-ts';

import { invalid, notSupported } from '../api/errors';
import { requireOwnerOrAdmin, requireUserOrAdmin } from '../api/policy';
import type { CaType } from '../certificates/ca-service';
import { InvalidCsrError } from '../certificates/x509';
import { findCluster, startUpdateJob, UPDATABLE } from './clusters';
import type { Deps } from './deps';

function caTypeOf(t: string | null | undefined): CaType {
  if (t === 'etcd') return 'etcd';
  if (t === 'front-proxy' || t === 'front_proxy') return 'front-proxy';
  return 'default';
}

export async function getCa(deps: Deps, ctx: RequestContext, ident: string, caCertType?: string) {
  const cluster = await findCluster(deps, ctx, ident);
  requireUserOrAdmin(ctx, 'certificate:get', cluster.user_id);
  const pem = await deps.caService.certPem(cluster.uuid, cluster.name, caTypeOf(caCertType));
  return { cluster, pem };
}

export async function signCertificate(
  deps: Deps,
  ctx: RequestContext,
  body: { cluster_uuid?: string; bay_uuid?: string; csr: string; ca_cert_type?: string | null },
) {
  const ident = body.cluster_uuid ?? body.bay_uuid;
  if (!ident)
    throw invalid("Invalid input for field/attribute cluster_uuid. Value: 'None'. Mandatory field missing.");
  let cluster;
  try {
    cluster = await findCluster(deps, ctx, ident);
  } catch (e) {
    // a POST naming a missing cluster is the client's bad request (Magnum turns 404 into 400)
    if (e instanceof ApiError && e.status === 404) throw new ApiError(400, e.code, e.message);
    throw e;
  }
  requireUserOrAdmin(ctx, 'certificate:create', cluster.user_id);
  try {
    const pem = await deps.caService.signClient(
      cluster.uuid,
      cluster.name,
      body.csr,
      caTypeOf(body.ca_cert_type),
    );
    return { cluster, pem };
  } catch (e) {
    if (e instanceof InvalidCsrError) throw new ApiError(400, 'InvalidCsr', e.message);
    throw e;
  }
}

export async function rotateCa(deps: Deps, ctx: RequestContext, ident: string): Promise<string> {
  const cluster = await findCluster(deps, ctx, ident);
  requireOwnerOrAdmin(ctx, 'certificate:rotate_ca', cluster.project_id);
  const template = await deps.templates.get(cluster.cluster_template_id);
  if (template?.tls_disabled)
    throw notSupported('Rotating the CA certificate on a non-TLS cluster is not supported');
  if (!UPDATABLE.includes(cluster.status)) {
    throw notSupported(`Rotating the CA of a cluster when status is "${cluster.status}" is not supported.`);
  }
  // synchronous, as Magnum's rotate_ca_certificate call: the new CA is in force when we answer
  await deps.caService.rotate(cluster.uuid, cluster.name);
  await startUpdateJob(deps, cluster, 'rotate_ca', {});
  return cluster.uuid;
}
