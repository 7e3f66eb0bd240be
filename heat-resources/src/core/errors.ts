// The service's failures as ApiErrors (rendered in the API's error shape),
// and the translation of what Nova, Neutron, Glance and Keystone answered
// into them: a refusal keeps its status and the upstream message (Nova's
// quota message reaches the Heat resource's status reason as Nova wrote it),
// an outage becomes 503.

import { ApiError } from '@berth/service-kit';
import {
  EndpointNotFoundError,
  KeystoneUnavailableError,
  OpenStackConnectionError,
  OpenStackHttpError,
} from 'keystone-client-ts';

export const invalidProperties = (message: string, detail?: unknown) =>
  new ApiError(400, 'InvalidProperties', message, detail);

export const resourceNotFound = (type: string, id: string) =>
  new ApiError(404, 'ResourceNotFound', `${type} ${id} could not be found.`);

export const conflictingState = (message: string) => new ApiError(409, 'InvalidState', message);

/**
 * An upstream failure while doing `what` ("Nova refused to create the
 * server"). Client errors keep their status and message; quota refusals
 * are typed QuotaExceeded; anything else is a 502/503.
 */
export function upstreamError(e: unknown, what: string): unknown {
  if (e instanceof ApiError) return e;
  if (e instanceof OpenStackHttpError) {
    const msg = `${what}: ${e.message}`;
    if (e.status === 401)
      return new ApiError(401, 'Unauthorized', `${what}: the token was refused (${e.message})`);
    if (e.status === 413 || /quota exceeded|over quota|exceeds.*quota/i.test(e.message)) {
      return new ApiError(e.status === 413 ? 403 : e.status, 'QuotaExceeded', msg);
    }
    if (e.status >= 400 && e.status < 500) {
      const type =
        e.status === 404 ? 'UpstreamNotFound' : e.status === 409 ? 'UpstreamConflict' : 'UpstreamRefused';
      return new ApiError(e.status === 404 ? 400 : e.status, type, msg);
    }
    return new ApiError(502, 'UpstreamError', msg);
  }
  if (e instanceof OpenStackConnectionError || e instanceof KeystoneUnavailableError) {
    return new ApiError(503, 'ServiceUnavailable', `${what}: unreachable (${e.message})`, undefined, {
      'Retry-After': '5',
    });
  }
  if (e instanceof EndpointNotFoundError) {
    return new ApiError(503, 'ServiceUnavailable', `${what}: not in the service catalog (${e.message})`);
  }
  return e;
}

/** Runs an upstream call, translating its failure. */
export async function upstream<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw upstreamError(e, what);
  }
}
