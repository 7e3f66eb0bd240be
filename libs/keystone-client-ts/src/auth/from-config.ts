// Builds an auth method from keystoneauth-style option names, so a service can
// hand over its `[keystone_authtoken]` INI section (or OS_* environment) as is
// and operators configure Berth the way they configure any OpenStack service.

import { ConfigurationError } from '../errors';
import type { EndpointInterface } from '../catalog';
import { ApplicationCredentialAuth } from './application-credential';
import { PasswordAuth } from './password';
import { TokenAuth } from './token';
import type { AuthMethod, Scope, UserRef } from './types';

export type AuthConfig = Record<string, string | undefined>;

export interface ResolvedAuthConfig {
  authUrl: string;
  auth: AuthMethod;
  region: string | undefined;
  interface: EndpointInterface | undefined;
}

function pick(cfg: AuthConfig, key: string): string | undefined {
  const v = cfg[key];
  return v === undefined || v === '' ? undefined : v;
}

function userRef(cfg: AuthConfig): UserRef {
  const userId = pick(cfg, 'user_id');
  if (userId) return { userId };
  const username = pick(cfg, 'username');
  if (!username) throw new ConfigurationError('auth config needs user_id or username');
  const userDomainId = pick(cfg, 'user_domain_id') ?? pick(cfg, 'default_domain_id');
  const userDomainName = pick(cfg, 'user_domain_name') ?? pick(cfg, 'default_domain_name');
  return userDomainId
    ? { username, userDomainId }
    : { username, userDomainName: userDomainName ?? 'Default' };
}

function scope(cfg: AuthConfig): Scope | undefined {
  const trustId = pick(cfg, 'trust_id');
  if (trustId) return { trustId };
  const projectId = pick(cfg, 'project_id') ?? pick(cfg, 'tenant_id');
  if (projectId) return { projectId };
  const projectName = pick(cfg, 'project_name') ?? pick(cfg, 'tenant_name');
  if (projectName) {
    const projectDomainId = pick(cfg, 'project_domain_id') ?? pick(cfg, 'default_domain_id');
    if (projectDomainId) return { projectName, projectDomainId };
    const projectDomainName =
      pick(cfg, 'project_domain_name') ?? pick(cfg, 'default_domain_name') ?? 'Default';
    return { projectName, projectDomainName };
  }
  const domainId = pick(cfg, 'domain_id');
  if (domainId) return { domainId };
  const domainName = pick(cfg, 'domain_name');
  if (domainName) return { domainName };
  if (pick(cfg, 'system_scope') === 'all') return { system: 'all' };
  return undefined;
}

/**
 * Reads `auth_type` (password, v3password, application_credential,
 * v3applicationcredential, token, v3token; default password) and the
 * matching keys: auth_url, username|user_id, password, user_domain_name|id,
 * project_name|id, project_domain_name|id, domain_name|id, system_scope, trust_id,
 * application_credential_id|name|secret, token, region_name, interface.
 */
export function authFromConfig(cfg: AuthConfig): ResolvedAuthConfig {
  const authUrl = pick(cfg, 'auth_url') ?? pick(cfg, 'www_authenticate_uri');
  if (!authUrl) throw new ConfigurationError('auth config needs auth_url');
  const type = (pick(cfg, 'auth_type') ?? pick(cfg, 'auth_plugin') ?? 'password').toLowerCase();
  let auth: AuthMethod;
  switch (type) {
    case 'password':
    case 'v3password': {
      const password = pick(cfg, 'password');
      if (password === undefined) throw new ConfigurationError('password auth config needs password');
      auth = new PasswordAuth({ ...userRef(cfg), password, scope: scope(cfg) });
      break;
    }
    case 'application_credential':
    case 'v3applicationcredential': {
      const secret = pick(cfg, 'application_credential_secret');
      if (!secret)
        throw new ConfigurationError('application credential config needs application_credential_secret');
      const id = pick(cfg, 'application_credential_id');
      const name = pick(cfg, 'application_credential_name');
      if (id) auth = new ApplicationCredentialAuth({ id, secret });
      else if (name) auth = new ApplicationCredentialAuth({ name, secret, user: userRef(cfg) });
      else throw new ConfigurationError('application credential config needs its id or name');
      break;
    }
    case 'token':
    case 'v3token': {
      const token = pick(cfg, 'token');
      if (!token) throw new ConfigurationError('token auth config needs token');
      auth = new TokenAuth({ token, scope: scope(cfg) });
      break;
    }
    default:
      throw new ConfigurationError(`unsupported auth_type ${type}`);
  }
  const iface = pick(cfg, 'interface') ?? pick(cfg, 'valid_interfaces');
  const normalised = iface?.replace(/URL$/, '').toLowerCase();
  if (normalised !== undefined && !['public', 'internal', 'admin'].includes(normalised)) {
    throw new ConfigurationError(`unsupported interface ${iface}`);
  }
  return {
    authUrl,
    auth,
    region: pick(cfg, 'region_name'),
    interface: normalised as EndpointInterface | undefined,
  };
}

/** Same as authFromConfig, from OS_* variables as an openrc file sets them. */
export function authFromEnv(env: NodeJS.ProcessEnv = process.env): ResolvedAuthConfig {
  const cfg: AuthConfig = {};
  for (const [k, v] of Object.entries(env)) {
    if (k.startsWith('OS_')) cfg[k.slice(3).toLowerCase()] = v;
  }
  return authFromConfig(cfg);
}
