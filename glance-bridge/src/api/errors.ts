// Every answer the bridge refuses is an OCI error body,
// `{"errors":[{"code","message","detail"}]}`: registry errors from the core,
// framework errors service-kit maps (bad JSON, schema violations, 413, 404),
// Keystone and Glance outages (503).

import { ApiError, type ErrorRenderer } from '@berth/service-kit';
import { KeystoneUnavailableError } from 'keystone-client-ts';

import { OCI_ERROR_MESSAGES, type OciErrorCode, RegistryError, StoreUnavailableError } from '../core/errors';

interface OciErrorEntry {
  code: string;
  message: string;
  detail?: unknown;
}

/** An ApiError carrying further OCI errors of the same answer. */
export class OciApiError extends ApiError {
  constructor(
    status: number,
    code: string,
    message: string,
    detail: unknown,
    headers: Record<string, string>,
    readonly more: OciErrorEntry[] = [],
  ) {
    super(status, code, message, detail, headers);
  }
}

/** service-kit's codes for framework errors, in OCI terms. */
const KIT_CODES: Record<string, OciErrorCode> = {
  NotFound: 'NAME_UNKNOWN',
  BadRequest: 'UNSUPPORTED',
  InvalidParameterValue: 'UNSUPPORTED',
  RequestEntityTooLarge: 'SIZE_INVALID',
  UnsupportedMediaType: 'UNSUPPORTED',
  MethodNotAllowed: 'UNSUPPORTED',
  Unauthorized: 'UNAUTHORIZED',
  Forbidden: 'DENIED',
  ServiceUnavailable: 'UNAVAILABLE',
  InternalServerError: 'UNKNOWN',
};

const OCI_CODES = new Set(Object.keys(OCI_ERROR_MESSAGES));

export const renderOciError: ErrorRenderer = (err) => {
  const code = OCI_CODES.has(err.code)
    ? err.code
    : (KIT_CODES[err.code] ?? (err.status >= 500 ? 'UNKNOWN' : 'UNSUPPORTED'));
  const first: OciErrorEntry = { code, message: err.message };
  if (err.detail !== undefined) first.detail = err.detail;
  const more = err instanceof OciApiError ? err.more : [];
  return { body: { errors: [first, ...more] }, contentType: 'application/json' };
};

/** What a handler threw, as the ApiError service-kit renders. */
export function toOciApiError(e: unknown, headers: Record<string, string> = {}): unknown {
  if (e instanceof RegistryError) {
    return new OciApiError(
      e.status,
      e.code,
      e.message,
      e.detail,
      { ...e.headers, ...headers },
      e.more.map((m) => ({
        code: m.code,
        message: m.message,
        ...(m.detail === undefined ? {} : { detail: m.detail }),
      })),
    );
  }
  if (e instanceof StoreUnavailableError) {
    return new ApiError(
      503,
      'UNAVAILABLE',
      'the image store (Glance) is unavailable; retry later',
      undefined,
      {
        'Retry-After': '10',
        ...headers,
      },
    );
  }
  if (e instanceof KeystoneUnavailableError) {
    return new ApiError(
      503,
      'UNAVAILABLE',
      'the identity service (Keystone) is unavailable; retry later',
      undefined,
      {
        'Retry-After': '10',
        ...headers,
      },
    );
  }
  return e;
}
