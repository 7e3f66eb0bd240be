// A service we depend on (Nova, Glance, Keystone) that cannot answer is not
// the client's fault and not ours: 503, naming the service, so the client
// retries instead of seeing a 500.

import { ApiError } from '@berth/service-kit';
import { KeystoneUnavailableError, OpenStackConnectionError, OpenStackHttpError } from 'keystone-client-ts';

export function isUpstreamOutage(e: unknown): boolean {
  return (
    e instanceof OpenStackConnectionError ||
    e instanceof KeystoneUnavailableError ||
    (e instanceof OpenStackHttpError && e.status >= 500)
  );
}

/** Runs a call to another service; its outages become 503 in the API's error format. */
export async function upstream<T>(service: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    if (isUpstreamOutage(e)) {
      throw new ApiError(
        503,
        'ServiceUnavailable',
        `${service} is unavailable: ${(e as Error).message}`,
        undefined,
        {
          'Retry-After': '5',
        },
      );
    }
    throw e;
  }
}
