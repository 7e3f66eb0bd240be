// What the API, the conductor and the node API share: repositories over one
// database, the Keystone gateway, the CA service, the drivers and config.
// Built once by main (or by tests) and passed down; nothing here is global.

import type { KeystoneSession } from 'keystone-client-ts';
import type { Logger } from '@berth/service-kit';

import type { CaService } from '../certificates/ca-service';
import type { SecretBox } from '../certificates/secret-box';
import type { Config } from '../config';
import type { ClusterRepo } from '../db/clusters';
import type { JobRepo } from '../db/jobs';
import type { CaRepo, QuotaRepo, ServiceRepo } from '../db/misc';
import type { NodeRepo } from '../db/nodes';
import type { Db } from '../db/schema';
import type { TemplateRepo } from '../db/templates';
import type { DriverRegistry } from '../drivers/registry';
import type { KeystoneGateway } from '../openstack/keystone';

export interface Deps {
  config: Config;
  logger: Logger;
  db: Db;
  templates: TemplateRepo;
  clusters: ClusterRepo;
  nodes: NodeRepo;
  jobs: JobRepo;
  quotas: QuotaRepo;
  cas: CaRepo;
  services: ServiceRepo;
  caService: CaService;
  box: SecretBox;
  keystone: KeystoneGateway;
  /** the service's own identity (token validation, trust cleanup, admin fallback) */
  serviceSession: KeystoneSession;
  drivers: DriverRegistry;
  /** base URL of the API as clients and nodes reach it */
  publicUrl: string;
  /** where nodes report */
  reportUrl: string;
  /** wakes the conductor's job for a cluster (a node reported) */
  poke(clusterUuid: string): void;
}
