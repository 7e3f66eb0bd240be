// Magnum's errors, with Magnum's status codes and messages (magnum/common/
// exception.py), and the renderer that puts every error in Magnum's body:
// {"errors":[{"request_id","code","status","title","detail","links"}]}.
// As WSME does, the title is the message up to its first period.

import type { FastifyRequest } from 'fastify';
import { ApiError, type ErrorRenderer } from '@berth/service-kit';

export const invalid = (message: string) => new ApiError(400, 'Invalid', message);
export const notSupported = (message: string) => new ApiError(400, 'NotSupported', message);
export const notAuthorized = (message = 'Not authorized.') => new ApiError(403, 'NotAuthorized', message);
export const policyDenied = (action: string) =>
  new ApiError(403, 'PolicyNotAuthorized', `Policy doesn't allow ${action} to be performed.`);
export const conflict = (message: string) => new ApiError(409, 'Conflict', message);
export const notFound = (message: string) => new ApiError(404, 'NotFound', message);

export const templateNotFound = (ident: string) =>
  new ApiError(404, 'ClusterTemplateNotFound', `ClusterTemplate ${ident} could not be found.`);
export const clusterNotFound = (ident: string) =>
  new ApiError(404, 'ClusterNotFound', `Cluster ${ident} could not be found.`);
export const nodegroupNotFound = (ident: string) =>
  new ApiError(404, 'NodeGroupNotFound', `Nodegroup ${ident} could not be found.`);
export const quotaNotFound = (msg: string) =>
  new ApiError(404, 'QuotaNotFound', `Quota could not be found: ${msg}`);

/** Raised when a value fails a type's own validation, worded as WSME words it. */
export const invalidInput = (field: string, value: unknown, reason: string) =>
  invalid(`Invalid input for field/attribute ${field}. Value: '${pyRepr(value)}'. ${reason}`);

/** How Python prints a JSON value (WSME echoes values this way). */
export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  return JSON.stringify(v);
}

/** The 406 Magnum answers for a microversion outside its range (magnum/api/http_error.py). */
export class MicroversionError extends ApiError {
  constructor(
    message: string,
    readonly minVersion: string,
    readonly maxVersion: string,
    headers: Record<string, string>,
  ) {
    super(406, 'magnum.microversion-unsupported', message, undefined, headers);
  }
}

function titleOf(message: string): string {
  const i = message.indexOf('.');
  return i > 0 ? message.slice(0, i) : message;
}

export const renderMagnumError: ErrorRenderer = (err: ApiError, request: FastifyRequest) => {
  const requestId = String(request.id ?? '');
  if (err instanceof MicroversionError) {
    return {
      body: {
        errors: [
          {
            request_id: requestId,
            code: 'magnum.microversion-unsupported',
            status: 406,
            title: 'Requested microversion is unsupported',
            detail: err.message,
            max_version: err.maxVersion,
            min_version: err.minVersion,
            links: [{ rel: 'help', href: 'http://docs.openstack.org/api-guide/compute/microversions.html' }],
          },
        ],
      },
    };
  }
  return {
    body: {
      errors: [
        {
          request_id: requestId,
          code: err.status >= 500 ? 'server' : 'client',
          status: err.status,
          title: titleOf(err.message),
          detail: err.message,
          links: [],
        },
      ],
    },
  };
};
