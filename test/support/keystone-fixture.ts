// Integration-test helpers for the all-in-one's real Keystone: an admin
// client (built with keystone-client-ts itself) and a fixture that creates
// uniquely named projects, users, role assignments, application credentials
// and trusts, and deletes them all afterwards, newest first.

import { randomBytes } from 'node:crypto';
import axios, { type AxiosInstance } from 'axios';
import { KeystoneSession, PasswordAuth, createHttpClient } from 'keystone-client-ts';
import { testEnv } from './env';

export const KEYSTONE_URL = testEnv.authUrl.replace(/\/+$/, '');
export const ADMIN = {
  username: testEnv.adminUser,
  password: testEnv.adminPassword,
  project: testEnv.adminProject,
  domainId: 'default',
};

/** Polls GET /v3 until Keystone answers; fails the suite with a clear message otherwise. */
export async function waitForKeystone(url = KEYSTONE_URL, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const res = await axios.get(url, { timeout: 2_000 });
      if (res.status === 200) return;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`Keystone at ${url} did not answer within ${timeoutMs} ms: ${String(last)}`);
}

export function adminSession(authUrl = KEYSTONE_URL): KeystoneSession {
  return new KeystoneSession({
    authUrl,
    auth: new PasswordAuth({
      username: ADMIN.username,
      userDomainId: ADMIN.domainId,
      password: ADMIN.password,
      scope: { projectName: ADMIN.project, projectDomainId: ADMIN.domainId },
    }),
  });
}

export function uniqueName(prefix: string): string {
  return `berth-it-${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export interface CreatedUser {
  id: string;
  name: string;
  password: string;
  domainId: string;
}

export class KeystoneFixture {
  readonly admin: AxiosInstance;
  private readonly cleanups: Array<{ what: string; run: () => Promise<unknown> }> = [];

  constructor(readonly session: KeystoneSession = adminSession()) {
    this.admin = createHttpClient(session, { endpointOverride: session.authUrl });
  }

  private onCleanup(what: string, run: () => Promise<unknown>): void {
    this.cleanups.push({ what, run });
  }

  async project(prefix = 'proj'): Promise<{ id: string; name: string }> {
    const name = uniqueName(prefix);
    const { data } = await this.admin.post('/projects', {
      project: { name, domain_id: 'default', description: 'keystone-client-ts integration test' },
    });
    const id: string = data.project.id;
    this.onCleanup(`project ${name}`, () => this.admin.delete(`/projects/${id}`));
    return { id, name };
  }

  async domain(prefix = 'dom'): Promise<{ id: string; name: string }> {
    const name = uniqueName(prefix);
    const { data } = await this.admin.post('/domains', { domain: { name, enabled: true } });
    const id: string = data.domain.id;
    // A domain must be disabled before Keystone lets it be deleted.
    this.onCleanup(`domain ${name}`, async () => {
      await this.admin.patch(`/domains/${id}`, { domain: { enabled: false } });
      await this.admin.delete(`/domains/${id}`);
    });
    return { id, name };
  }

  async user(prefix = 'user'): Promise<CreatedUser> {
    const name = uniqueName(prefix);
    const password = randomBytes(12).toString('base64url');
    const { data } = await this.admin.post('/users', { user: { name, password, domain_id: 'default' } });
    const id: string = data.user.id;
    this.onCleanup(`user ${name}`, () => this.admin.delete(`/users/${id}`));
    return { id, name, password, domainId: 'default' };
  }

  async roleId(name: string): Promise<string> {
    const { data } = await this.admin.get('/roles', { params: { name } });
    const role = data.roles[0];
    if (!role) throw new Error(`role ${name} not found`);
    return role.id;
  }

  /** Grants; removed when the user or project is deleted, so no cleanup of its own. */
  async grantProject(userId: string, projectId: string, role: string): Promise<void> {
    await this.admin.put(`/projects/${projectId}/users/${userId}/roles/${await this.roleId(role)}`);
  }

  async grantDomain(userId: string, domainId: string, role: string): Promise<void> {
    await this.admin.put(`/domains/${domainId}/users/${userId}/roles/${await this.roleId(role)}`);
  }

  /**
   * Creating an application credential needs a token of the owning user
   * scoped to the project the credential will be bound to.
   */
  async applicationCredential(
    user: CreatedUser,
    projectId: string,
  ): Promise<{ id: string; name: string; secret: string }> {
    const userClient = createHttpClient(
      new KeystoneSession({
        authUrl: this.session.authUrl,
        auth: new PasswordAuth({ userId: user.id, password: user.password, scope: { projectId } }),
      }),
      { endpointOverride: this.session.authUrl },
    );
    const name = uniqueName('appcred');
    const { data } = await userClient.post(`/users/${user.id}/application_credentials`, {
      application_credential: { name, description: 'keystone-client-ts integration test' },
    });
    const ac = data.application_credential;
    this.onCleanup(`application credential ${name}`, () =>
      this.admin.delete(`/users/${user.id}/application_credentials/${ac.id}`),
    );
    return { id: ac.id, name, secret: ac.secret };
  }

  /** A trust from trustor to trustee on a project, created with the trustor's token. */
  async trust(
    trustor: CreatedUser,
    trustee: { id: string },
    projectId: string,
    roles: string[],
  ): Promise<{ id: string }> {
    const trustorClient = createHttpClient(
      new KeystoneSession({
        authUrl: this.session.authUrl,
        auth: new PasswordAuth({ userId: trustor.id, password: trustor.password, scope: { projectId } }),
      }),
      { endpointOverride: this.session.authUrl },
    );
    const { data } = await trustorClient.post('/OS-TRUST/trusts', {
      trust: {
        trustor_user_id: trustor.id,
        trustee_user_id: trustee.id,
        project_id: projectId,
        impersonation: true,
        roles: roles.map((name) => ({ name })),
      },
    });
    const id: string = data.trust.id;
    this.onCleanup(`trust ${id}`, () => this.admin.delete(`/OS-TRUST/trusts/${id}`));
    return { id };
  }

  /** Revokes a token as an operator would (DELETE /v3/auth/tokens). */
  async revoke(token: string): Promise<void> {
    await this.admin.delete('/auth/tokens', { headers: { 'X-Subject-Token': token } });
  }

  /** Deletes everything created, newest first; reports every failure, not just the first. */
  async cleanup(): Promise<void> {
    const failures: string[] = [];
    while (this.cleanups.length) {
      const step = this.cleanups.pop()!;
      try {
        await step.run();
      } catch (err) {
        const status = (err as { status?: number }).status;
        if (status !== 404) failures.push(`${step.what}: ${String(err)}`);
      }
    }
    if (failures.length) throw new Error(`cleanup failed:\n${failures.join('\n')}`);
  }
}
