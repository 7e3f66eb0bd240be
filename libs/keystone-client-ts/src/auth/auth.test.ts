import { ConfigurationError } from '../errors';
import { ApplicationCredentialAuth, PasswordAuth, TokenAuth, authFromConfig, authFromEnv } from './index';

describe('PasswordAuth', () => {
  it('builds a user-by-id, project-by-id request', () => {
    const body = new PasswordAuth({ userId: 'u1', password: 'pw', scope: { projectId: 'p1' } }).authRequest();
    expect(body).toEqual({
      auth: {
        identity: { methods: ['password'], password: { user: { id: 'u1', password: 'pw' } } },
        scope: { project: { id: 'p1' } },
      },
    });
  });

  it('builds user-by-name and project-by-name requests with their domains', () => {
    const body = new PasswordAuth({
      username: 'alice',
      userDomainName: 'Default',
      password: 'pw',
      scope: { projectName: 'demo', projectDomainId: 'default' },
    }).authRequest();
    expect(body.auth.identity.password).toEqual({
      user: { name: 'alice', domain: { name: 'Default' }, password: 'pw' },
    });
    expect(body.auth.scope).toEqual({ project: { name: 'demo', domain: { id: 'default' } } });
  });

  it('supports domain scope, system scope and unscoped', () => {
    const user = { userId: 'u1', password: 'pw' };
    expect(new PasswordAuth({ ...user, scope: { domainId: 'd1' } }).authRequest().auth.scope).toEqual({
      domain: { id: 'd1' },
    });
    expect(new PasswordAuth({ ...user, scope: { domainName: 'D' } }).authRequest().auth.scope).toEqual({
      domain: { name: 'D' },
    });
    expect(new PasswordAuth({ ...user, scope: { system: 'all' } }).authRequest().auth.scope).toEqual({
      system: { all: true },
    });
    expect(new PasswordAuth({ ...user, scope: { trustId: 't1' } }).authRequest().auth.scope).toEqual({
      'OS-TRUST:trust': { id: 't1' },
    });
    expect('scope' in new PasswordAuth({ ...user, scope: 'unscoped' }).authRequest().auth).toBe(false);
    expect('scope' in new PasswordAuth(user).authRequest().auth).toBe(false);
  });

  it('rejects incomplete users and scopes at construction', () => {
    expect(() => new PasswordAuth({ username: 'alice', password: 'pw' })).toThrow(ConfigurationError);
    expect(() => new PasswordAuth({ userId: 'u', password: 'pw', scope: { projectName: 'p' } })).toThrow(
      /projectDomainId/,
    );
    expect(() => new PasswordAuth({ userId: '', password: 'pw' })).toThrow(ConfigurationError);
  });

  it('keeps the password out of JSON', () => {
    expect(JSON.stringify(new PasswordAuth({ userId: 'u1', password: 'hunter2' }))).not.toContain('hunter2');
  });

  it('returns a fresh body on each call', () => {
    const a = new PasswordAuth({ userId: 'u1', password: 'pw' });
    expect(a.authRequest()).not.toBe(a.authRequest());
  });
});

describe('ApplicationCredentialAuth', () => {
  it('builds an id+secret request without scope', () => {
    expect(new ApplicationCredentialAuth({ id: 'ac1', secret: 's' }).authRequest()).toEqual({
      auth: {
        identity: { methods: ['application_credential'], application_credential: { id: 'ac1', secret: 's' } },
      },
    });
  });

  it('builds a name+user request', () => {
    const body = new ApplicationCredentialAuth({
      name: 'ci',
      secret: 's',
      user: { username: 'alice', userDomainId: 'default' },
    }).authRequest();
    expect(body.auth.identity.application_credential).toEqual({
      name: 'ci',
      secret: 's',
      user: { name: 'alice', domain: { id: 'default' } },
    });
  });

  it('needs a secret and an id or name', () => {
    expect(() => new ApplicationCredentialAuth({ id: 'x', secret: '' })).toThrow(ConfigurationError);
    expect(() => new ApplicationCredentialAuth({ id: '', secret: 's' })).toThrow(ConfigurationError);
    expect(JSON.stringify(new ApplicationCredentialAuth({ id: 'x', secret: 'topsecret' }))).not.toContain(
      'topsecret',
    );
  });
});

describe('TokenAuth', () => {
  it('builds a token request, rescoped if asked, and is not renewable', () => {
    const auth = new TokenAuth({ token: 'T', scope: { projectId: 'p2' } });
    expect(auth.authRequest()).toEqual({
      auth: { identity: { methods: ['token'], token: { id: 'T' } }, scope: { project: { id: 'p2' } } },
    });
    expect(auth.renewable).toBe(false);
    expect(() => new TokenAuth({ token: '' })).toThrow(ConfigurationError);
  });
});

describe('authFromConfig / authFromEnv', () => {
  it('reads a keystone_authtoken-style password section', () => {
    const r = authFromConfig({
      auth_type: 'password',
      auth_url: 'http://ks:5000/v3',
      username: 'glance',
      password: 'pw',
      user_domain_name: 'Default',
      project_name: 'service',
      project_domain_name: 'Default',
      region_name: 'RegionOne',
      interface: 'internalURL',
    });
    expect(r.authUrl).toBe('http://ks:5000/v3');
    expect(r.region).toBe('RegionOne');
    expect(r.interface).toBe('internal');
    expect(r.auth.kind).toBe('password');
    expect(r.auth.authRequest().auth.scope).toEqual({
      project: { name: 'service', domain: { name: 'Default' } },
    });
  });

  it('reads application credentials and tokens', () => {
    const ac = authFromConfig({
      auth_type: 'v3applicationcredential',
      auth_url: 'u',
      application_credential_id: 'a',
      application_credential_secret: 's',
    });
    expect(ac.auth.authRequest().auth.identity.application_credential).toEqual({ id: 'a', secret: 's' });
    const tok = authFromConfig({ auth_type: 'v3token', auth_url: 'u', token: 'T', domain_id: 'd' });
    expect(tok.auth.authRequest().auth.scope).toEqual({ domain: { id: 'd' } });
    const trust = authFromConfig({ auth_url: 'u', user_id: 'heat', password: 'p', trust_id: 't9' });
    expect(trust.auth.authRequest().auth.scope).toEqual({ 'OS-TRUST:trust': { id: 't9' } });
  });

  it('reads OS_* variables like an openrc', () => {
    const r = authFromEnv({
      OS_AUTH_URL: 'http://ks:5000/v3',
      OS_USERNAME: 'admin',
      OS_PASSWORD: 'secret',
      OS_PROJECT_NAME: 'admin',
      OS_USER_DOMAIN_ID: 'default',
      OS_PROJECT_DOMAIN_ID: 'default',
      HOME: '/root',
    });
    expect(r.auth.authRequest()).toEqual({
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: 'admin', domain: { id: 'default' }, password: 'secret' } },
        },
        scope: { project: { name: 'admin', domain: { id: 'default' } } },
      },
    });
  });

  it('rejects missing pieces and unknown types', () => {
    expect(() => authFromConfig({ username: 'x', password: 'p' })).toThrow(/auth_url/);
    expect(() => authFromConfig({ auth_url: 'u', username: 'x' })).toThrow(/password/);
    expect(() => authFromConfig({ auth_url: 'u', auth_type: 'saml2' })).toThrow(/saml2/);
    expect(() =>
      authFromConfig({
        auth_url: 'u',
        auth_type: 'application_credential',
        application_credential_secret: 's',
      }),
    ).toThrow(/id or name/);
    expect(() => authFromConfig({ auth_url: 'u', username: 'x', password: 'p', interface: 'weird' })).toThrow(
      /interface/,
    );
  });
});
