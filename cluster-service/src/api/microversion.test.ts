import { ApiError } from '@berth/service-kit';
import { OpenStackConnectionError, OpenStackHttpError } from 'keystone-client-ts';

import { MicroversionError } from './errors';
import { negotiate } from './microversion';
import { upstream } from '../openstack/upstream';

describe('negotiate (OpenStack-API-Version: container-infra X.Y)', () => {
  it('serves 1.1 without a header, the asked version in range, and latest as 1.10', () => {
    expect(negotiate(undefined)).toEqual({ major: 1, minor: 1 });
    expect(negotiate('container-infra 1.7')).toEqual({ major: 1, minor: 7 });
    expect(negotiate('container-infra latest')).toEqual({ major: 1, minor: 10 });
    expect(negotiate('container-infrastructure-management 1.9')).toEqual({ major: 1, minor: 9 });
  });

  it('answers 406, with the version headers, outside the range or for another service', () => {
    for (const h of ['container-infra 1.11', 'container-infra 1.0', 'container-infra 2.1']) {
      const e = (() => {
        try {
          negotiate(h);
        } catch (x) {
          return x;
        }
      })() as MicroversionError;
      expect(e).toBeInstanceOf(MicroversionError);
      expect(e.status).toBe(406);
      expect(e.headers['OpenStack-API-Maximum-Version']).toBe('container-infra 1.10');
    }
    for (const h of ['compute 2.1', 'container-infra', 'container-infra x.y']) {
      expect(() => negotiate(h)).toThrow(ApiError);
    }
  });
});

describe('upstream (another service failing)', () => {
  it('turns outages into 503 and leaves other errors alone', async () => {
    const down = new OpenStackConnectionError('GET http://nova failed: ECONNREFUSED', {
      code: 'ECONNREFUSED',
    });
    await expect(upstream('Nova', () => Promise.reject(down))).rejects.toMatchObject({
      status: 503,
      message: 'Nova is unavailable: GET http://nova failed: ECONNREFUSED',
    });
    const broken = new OpenStackHttpError({ status: 502, message: 'bad gateway' });
    await expect(upstream('Glance', () => Promise.reject(broken))).rejects.toMatchObject({ status: 503 });
    const refused = new OpenStackHttpError({ status: 403, message: 'forbidden' });
    await expect(upstream('Glance', () => Promise.reject(refused))).rejects.toBe(refused);
    await expect(upstream('Nova', async () => 42)).resolves.toBe(42);
  });
});
