// The registry's one error type, carrying an OCI error code. The API layer
// renders it as `{"errors":[{code,message,detail}]}` with its HTTP status;
// the core never knows about HTTP beyond the status it suggests.

/** Error codes of the OCI distribution spec v1.1 (plus UNAVAILABLE for 503, as distribution answers). */
export type OciErrorCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS'
  | 'UNAVAILABLE'
  | 'UNKNOWN';

export const OCI_ERROR_MESSAGES: Record<OciErrorCode, string> = {
  BLOB_UNKNOWN: 'blob unknown to registry',
  BLOB_UPLOAD_INVALID: 'blob upload invalid',
  BLOB_UPLOAD_UNKNOWN: 'blob upload unknown to registry',
  DIGEST_INVALID: 'provided digest did not match uploaded content',
  MANIFEST_BLOB_UNKNOWN: 'manifest references a manifest or blob unknown to registry',
  MANIFEST_INVALID: 'manifest invalid',
  MANIFEST_UNKNOWN: 'manifest unknown to registry',
  NAME_INVALID: 'invalid repository name',
  NAME_UNKNOWN: 'repository name not known to registry',
  SIZE_INVALID: 'provided length did not match content length',
  UNAUTHORIZED: 'authentication required',
  DENIED: 'requested access to the resource is denied',
  UNSUPPORTED: 'the operation is unsupported',
  TOOMANYREQUESTS: 'too many requests',
  UNAVAILABLE: 'service unavailable',
  UNKNOWN: 'unknown error',
};

const DEFAULT_STATUS: Record<OciErrorCode, number> = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
  UNAVAILABLE: 503,
  UNKNOWN: 500,
};

export class RegistryError extends Error {
  status: number;
  /** further errors of the same answer (the spec allows several, e.g. one per missing blob) */
  readonly more: RegistryError[] = [];
  /** extra response headers (Content-Range on 416...) */
  readonly headers: Record<string, string> = {};
  constructor(
    readonly code: OciErrorCode,
    message?: string,
    readonly detail?: unknown,
    status?: number,
  ) {
    super(message ?? OCI_ERROR_MESSAGES[code]);
    this.name = 'RegistryError';
    this.status = status ?? DEFAULT_STATUS[code];
  }
}

export const ociError = (code: OciErrorCode, message?: string, detail?: unknown, status?: number) =>
  new RegistryError(code, message, detail, status);

/** The blob store could not be reached: answer 503 and keep what the client already sent. */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}
