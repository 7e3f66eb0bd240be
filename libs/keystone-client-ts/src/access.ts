// The parsed form of a Keystone v3 token body (`{"token": {...}}`), shared by
// the client side (tokens we obtain) and the server side (tokens we validate),
// so both read Keystone's JSON in exactly one place.

import { ServiceCatalog, type CatalogEntry } from './catalog';

export interface IdName {
  id: string;
  name: string | undefined;
}

export type TokenDomain = IdName;

export interface TokenUser extends IdName {
  domain: TokenDomain | undefined;
}

export interface TokenProject extends IdName {
  domain: TokenDomain | undefined;
}

export type TokenRole = IdName;

/** Present on trust-scoped tokens (Heat acts on behalf of users with these). */
export interface TrustInfo {
  id: string;
  impersonation: boolean;
  trusteeUserId: string | undefined;
  trustorUserId: string | undefined;
}

export interface AppCredentialInfo {
  id: string;
  name: string | undefined;
  restricted: boolean | undefined;
}

/** Keystone's JSON token body; only the fields we read are typed. */
export interface KeystoneTokenBody {
  token: {
    methods?: string[];
    expires_at: string;
    issued_at?: string;
    audit_ids?: string[];
    user?: { id: string; name?: string; domain?: { id: string; name?: string } };
    project?: { id: string; name?: string; domain?: { id: string; name?: string } };
    domain?: { id: string; name?: string };
    system?: { all?: boolean };
    roles?: Array<{ id: string; name?: string }>;
    catalog?: CatalogEntry[];
    'OS-TRUST:trust'?: {
      id: string;
      impersonation?: boolean;
      trustee_user?: { id: string };
      trustor_user?: { id: string };
    };
    application_credential?: { id: string; name?: string; restricted?: boolean };
    is_domain?: boolean;
  };
}

function idName(v: { id: string; name?: string } | undefined): IdName | undefined {
  return v && typeof v.id === 'string' ? { id: v.id, name: v.name } : undefined;
}

/**
 * Keystone prints timestamps with microseconds ("2024-05-01T10:00:00.000000Z");
 * V8 parses that, but an absent zone would be read as local time, so force UTC.
 */
export function parseKeystoneTime(value: string): Date {
  const withZone = /[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`;
  const ms = Date.parse(withZone);
  if (Number.isNaN(ms)) throw new TypeError(`unparseable Keystone timestamp: ${value}`);
  return new Date(ms);
}

/** One token and what Keystone said about it. Immutable. */
export class AccessInfo {
  readonly token: string;
  readonly expiresAt: Date;
  readonly issuedAt: Date | undefined;
  readonly methods: string[];
  readonly auditIds: string[];
  readonly user: TokenUser | undefined;
  readonly project: TokenProject | undefined;
  readonly domain: TokenDomain | undefined;
  readonly systemScope: boolean;
  readonly roles: TokenRole[];
  readonly catalog: ServiceCatalog | undefined;
  readonly trust: TrustInfo | undefined;
  readonly applicationCredential: AppCredentialInfo | undefined;
  readonly raw: KeystoneTokenBody;

  constructor(token: string, body: KeystoneTokenBody) {
    if (!body || typeof body !== 'object' || !body.token || typeof body.token.expires_at !== 'string') {
      throw new TypeError('not a Keystone v3 token body');
    }
    const t = body.token;
    this.token = token;
    this.raw = body;
    this.expiresAt = parseKeystoneTime(t.expires_at);
    this.issuedAt = t.issued_at ? parseKeystoneTime(t.issued_at) : undefined;
    this.methods = t.methods ?? [];
    this.auditIds = t.audit_ids ?? [];
    const user = idName(t.user);
    this.user = user && { ...user, domain: idName(t.user?.domain) };
    const project = idName(t.project);
    this.project = project && { ...project, domain: idName(t.project?.domain) };
    this.domain = idName(t.domain);
    this.systemScope = t.system?.all === true;
    this.roles = (t.roles ?? []).map((r) => ({ id: r.id, name: r.name }));
    this.catalog = t.catalog ? new ServiceCatalog(t.catalog) : undefined;
    const trust = t['OS-TRUST:trust'];
    this.trust = trust
      ? {
          id: trust.id,
          impersonation: trust.impersonation === true,
          trusteeUserId: trust.trustee_user?.id,
          trustorUserId: trust.trustor_user?.id,
        }
      : undefined;
    const ac = t.application_credential;
    this.applicationCredential = ac ? { id: ac.id, name: ac.name, restricted: ac.restricted } : undefined;
  }

  /** Lifetime Keystone granted, used to correct for clock skew (see session). */
  get lifetimeMs(): number | undefined {
    return this.issuedAt ? this.expiresAt.getTime() - this.issuedAt.getTime() : undefined;
  }

  get roleNames(): string[] {
    return this.roles.map((r) => r.name ?? r.id);
  }
}
