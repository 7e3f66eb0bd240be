export type { AuthMethod, AuthRequestBody, Scope, UserRef } from './types';
export * from './password';
export * from './application-credential';
export * from './token';
export * from './presented-token';
export * from './from-config';
