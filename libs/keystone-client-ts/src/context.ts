// The request context a Berth API gets for a validated token: who is
// calling, in which scope, with which roles. A plain frozen object, so
// services can log selected fields, serialise it into RPC messages (minus the
// token) and compare project ids without knowing Keystone's JSON.

import type { AccessInfo, AppCredentialInfo, TrustInfo } from './access';
import type { ServiceCatalog } from './catalog';
import { tokenFingerprint } from './log';

export interface RequestContext {
  /** The caller's token, for calling other services on their behalf. Never log it. */
  token: string;
  /** Short hash of the token, safe for logs. */
  tokenFingerprint: string;
  userId: string;
  userName: string | undefined;
  userDomainId: string | undefined;
  userDomainName: string | undefined;
  /** Set for project-scoped tokens. */
  projectId: string | undefined;
  projectName: string | undefined;
  projectDomainId: string | undefined;
  projectDomainName: string | undefined;
  /** Set for domain-scoped tokens only. */
  domainId: string | undefined;
  domainName: string | undefined;
  systemScope: boolean;
  /** Role names (effective roles, implied roles included, as Keystone lists them). */
  roles: string[];
  roleIds: string[];
  /** Holds one of the validator's admin roles (default `admin`). */
  isAdmin: boolean;
  expiresAt: Date;
  issuedAt: Date | undefined;
  auditIds: string[];
  /** Auth methods behind the token, e.g. ['password'], ['token', 'password']. */
  methods: string[];
  /** Only when the validator was asked to include catalogs. */
  serviceCatalog: ServiceCatalog | undefined;
  /** Trust-scoped tokens (Heat acting for a user). */
  trust: TrustInfo | undefined;
  appCredentialId: string | undefined;
  applicationCredential: AppCredentialInfo | undefined;
}

export function contextFromAccess(access: AccessInfo, adminRoles: readonly string[]): RequestContext {
  if (!access.user) throw new TypeError('token body has no user');
  const roles = access.roleNames;
  return Object.freeze({
    token: access.token,
    tokenFingerprint: tokenFingerprint(access.token),
    userId: access.user.id,
    userName: access.user.name,
    userDomainId: access.user.domain?.id,
    userDomainName: access.user.domain?.name,
    projectId: access.project?.id,
    projectName: access.project?.name,
    projectDomainId: access.project?.domain?.id,
    projectDomainName: access.project?.domain?.name,
    domainId: access.domain?.id,
    domainName: access.domain?.name,
    systemScope: access.systemScope,
    roles,
    roleIds: access.roles.map((r) => r.id),
    isAdmin: roles.some((r) => adminRoles.includes(r)),
    expiresAt: access.expiresAt,
    issuedAt: access.issuedAt,
    auditIds: access.auditIds,
    methods: access.methods,
    serviceCatalog: access.catalog,
    trust: access.trust,
    appCredentialId: access.applicationCredential?.id,
    applicationCredential: access.applicationCredential,
  });
}
