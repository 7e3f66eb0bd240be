import { AccessInfo, parseKeystoneTime } from './access';
import { contextFromAccess } from './context';
import { tokenFingerprint } from './log';
import { tokenBody } from './testing/fake-http';

describe('parseKeystoneTime', () => {
  it('reads microsecond timestamps as UTC, with or without a zone', () => {
    expect(parseKeystoneTime('2024-05-01T10:00:00.123456Z').getTime()).toBe(
      Date.UTC(2024, 4, 1, 10, 0, 0, 123),
    );
    expect(parseKeystoneTime('2024-05-01T10:00:00.000000').getTime()).toBe(Date.UTC(2024, 4, 1, 10));
    expect(() => parseKeystoneTime('tomorrow')).toThrow(TypeError);
  });
});

describe('AccessInfo and RequestContext', () => {
  const now = Date.UTC(2024, 0, 1);

  it('exposes a project-scoped token', () => {
    const body = tokenBody({ roles: ['member', 'admin'], projectId: 'p9', lifetimeMs: 60_000 }, now);
    const access = new AccessInfo('TOKEN', body);
    expect(access.lifetimeMs).toBe(60_000);
    expect(access.catalog?.url({ type: 'image' })).toBe('http://glance.example');
    const ctx = contextFromAccess(access, ['admin']);
    expect(ctx).toMatchObject({
      token: 'TOKEN',
      tokenFingerprint: tokenFingerprint('TOKEN'),
      userId: 'u1',
      userName: 'alice',
      userDomainId: 'default',
      projectId: 'p9',
      projectName: 'proj',
      projectDomainId: 'default',
      domainId: undefined,
      roles: ['member', 'admin'],
      isAdmin: true,
      methods: ['password'],
      trust: undefined,
      appCredentialId: undefined,
    });
    expect(ctx.expiresAt.getTime()).toBe(now + 60_000);
    expect(Object.isFrozen(ctx)).toBe(true);
  });

  it('exposes domain scope, trusts and application credentials', () => {
    const body = tokenBody(
      {
        domainId: 'd1',
        roles: ['reader'],
        extra: {
          'OS-TRUST:trust': {
            id: 't1',
            impersonation: true,
            trustee_user: { id: 'heat' },
            trustor_user: { id: 'u1' },
          },
          application_credential: { id: 'ac1', name: 'ci', restricted: true },
        },
      },
      now,
    );
    const ctx = contextFromAccess(new AccessInfo('T', body), ['admin']);
    expect(ctx.domainId).toBe('d1');
    expect(ctx.projectId).toBeUndefined();
    expect(ctx.isAdmin).toBe(false);
    expect(ctx.trust).toEqual({ id: 't1', impersonation: true, trusteeUserId: 'heat', trustorUserId: 'u1' });
    expect(ctx.appCredentialId).toBe('ac1');
  });

  it('honours custom admin roles and rejects non-token bodies', () => {
    const access = new AccessInfo('T', tokenBody({ roles: ['cloud-admin'] }, now));
    expect(contextFromAccess(access, ['cloud-admin']).isAdmin).toBe(true);
    expect(contextFromAccess(access, ['admin']).isAdmin).toBe(false);
    expect(() => new AccessInfo('T', {} as never)).toThrow(TypeError);
  });
});
