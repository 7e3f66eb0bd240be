// Public API of keystone-client-ts. Client side: auth methods → KeystoneSession
// → createHttpClient. Server side: TokenValidator → RequestContext.
export * from './auth';
export { AccessInfo, parseKeystoneTime } from './access';
export type {
  AppCredentialInfo,
  IdName,
  KeystoneTokenBody,
  TokenDomain,
  TokenProject,
  TokenRole,
  TokenUser,
  TrustInfo,
} from './access';
export { ServiceCatalog } from './catalog';
export type { CatalogEndpoint, CatalogEntry, EndpointFilter, EndpointInterface } from './catalog';
export { contextFromAccess } from './context';
export type { RequestContext } from './context';
export * from './errors';
export { createHttpClient } from './http-client';
export type { HttpClientOptions } from './http-client';
export { silentLogger, tokenFingerprint } from './log';
export type { Logger } from './log';
export { KeystoneSession, normaliseAuthUrl } from './session';
export type { SessionOptions } from './session';
export { DEFAULT_USER_AGENT, VERSION, newRequestId, toOpenStackError } from './transport';
export { TokenValidator, readHeader } from './validator';
export type { AuthFailure, AuthResult, HeaderSource, TokenValidatorOptions } from './validator';
