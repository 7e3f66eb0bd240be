// Fakes for the unit tests (not built into dist): callers, and OpenStack
// clients whose every method is a sinon stub.

import sinon from 'sinon';

import type { Logger } from '@berth/service-kit';
import type { GlanceClient, NeutronClient, NovaClient } from '@berth/openstack-clients';
import type { RequestContext } from 'keystone-client-ts';

import type { Caller } from '../core/handler';
import type { CallerClients } from '../openstack/clients';

export type Stubbed<T> = { [K in keyof T]: sinon.SinonStub };

export interface FakeClients {
  nova: Stubbed<NovaClient>;
  neutron: Stubbed<NeutronClient>;
  glance: Stubbed<GlanceClient>;
}

function stubbed<T>(methods: string[]): Stubbed<T> {
  return Object.fromEntries(
    methods.map((m) => [m, sinon.stub().rejects(new Error(`unexpected ${m}`))]),
  ) as Stubbed<T>;
}

export function fakeClients(): FakeClients {
  return {
    nova: stubbed<NovaClient>([
      'createServer',
      'getServer',
      'findServer',
      'listServers',
      'deleteServer',
      'renameServer',
      'rebuildServer',
      'serverAction',
      'consoleOutput',
      'getFlavor',
      'listFlavors',
      'resolveFlavor',
    ]),
    neutron: stubbed<NeutronClient>([
      'createNetwork',
      'getNetwork',
      'findNetwork',
      'listNetworks',
      'updateNetwork',
      'deleteNetwork',
      'resolveNetwork',
      'createSubnet',
      'getSubnet',
      'findSubnet',
      'listSubnets',
      'updateSubnet',
      'deleteSubnet',
      'getPort',
      'findPort',
      'listPorts',
    ]),
    glance: stubbed<GlanceClient>(['findImage', 'getImage', 'listImages', 'listImagesByProperties']),
  };
}

export function context(projectId = 'p1', over: Partial<RequestContext> = {}): RequestContext {
  return {
    token: `token-of-${projectId}`,
    tokenFingerprint: `fp-${projectId}`,
    userId: `user-of-${projectId}`,
    userName: 'u',
    userDomainId: 'default',
    userDomainName: 'Default',
    projectId,
    projectName: `name-of-${projectId}`,
    projectDomainId: 'default',
    projectDomainName: 'Default',
    domainId: undefined,
    domainName: undefined,
    systemScope: false,
    roles: ['member'],
    roleIds: ['r1'],
    isAdmin: false,
    expiresAt: new Date(Date.now() + 3600_000),
    issuedAt: new Date(),
    auditIds: [],
    methods: ['password'],
    serviceCatalog: undefined,
    trust: undefined,
    appCredentialId: undefined,
    applicationCredential: undefined,
    ...over,
  };
}

export const silentLog: Logger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
  child: () => silentLog,
} as unknown as Logger;

export function caller(clients: FakeClients, projectId = 'p1'): Caller {
  return { ctx: context(projectId), clients: clients as unknown as CallerClients, log: silentLog };
}
