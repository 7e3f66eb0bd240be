/**
 * The one error type API handlers throw. Each service renders it in its own
 * API's error format (Magnum `{"errors":[...]}`, OCI `{"errors":[{code,...}]}`,
 * Nova-style `{"itemNotFound": {...}}`); the kit maps framework errors
 * (bad JSON, schema violations, body too large) onto it, so a client never
 * sees a stack trace or a 500 for its own mistake.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    /** the API's machine-readable code, e.g. "NAME_UNKNOWN" or "ClusterNotFound" */
    readonly code: string,
    message: string,
    readonly detail?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const badRequest = (message: string, code = 'BadRequest', detail?: unknown) =>
  new ApiError(400, code, message, detail);
export const notFound = (message: string, code = 'NotFound') => new ApiError(404, code, message);
export const conflict = (message: string, code = 'Conflict') => new ApiError(409, code, message);
export const forbidden = (message: string, code = 'Forbidden') => new ApiError(403, code, message);

/** Title for a status, as webob prints it in OpenStack error bodies. */
export function statusTitle(status: number): string {
  return STATUS_TITLES[status] ?? (status >= 500 ? 'Internal Server Error' : 'Bad Request');
}

const STATUS_TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Request Entity Too Large',
  415: 'Unsupported Media Type',
  416: 'Requested Range Not Satisfiable',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};
