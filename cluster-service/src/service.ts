// Wires the service together: database, Keystone, CAs, drivers, the API and
// the conductor, in one process by default ([api] enabled, [conductor]
// enabled). Several processes on one database scale out: jobs are claimed
// through the database, node reports go to whichever API answers.

import { keystoneFromConfig, openDatabase, ServiceMetrics, type Logger, redactUrl } from '@berth/service-kit';

import { buildApi, buildNodeApi } from './api/server';
import { CaService } from './certificates/ca-service';
import { SecretBox } from './certificates/secret-box';
import { Periodic } from './conductor/periodic';
import { JobRunner } from './conductor/runner';
import { publicUrl, type Config } from './config';
import type { Deps } from './core/deps';
import { ClusterRepo } from './db/clusters';
import { JobRepo } from './db/jobs';
import { migrations } from './db/migrations';
import { CaRepo, QuotaRepo, ServiceRepo } from './db/misc';
import { NodeRepo } from './db/nodes';
import type { DB } from './db/schema';
import { TemplateRepo } from './db/templates';
import { DriverRegistry } from './drivers/registry';
import { SwarmModeDriver } from './drivers/swarm/driver';
import { KeystoneGateway } from './openstack/keystone';

export async function startClusterService(config: Config, logger: Logger): Promise<() => Promise<void>> {
  const box = new SecretBox(config.certificates.encryption_key);
  const url = config.database.connection;
  const dialectOf = /^postgres/.test(url) ? 'postgres' : 'sqlite';
  const database = await openDatabase<DB>(url, { migrations: migrations(dialectOf), logger });
  logger.info({ database: redactUrl(url) }, 'database ready');
  const db = database.db;

  const ks = config.keystone_authtoken;
  const { session, validator } = keystoneFromConfig(ks, logger);
  const keystone = new KeystoneGateway(
    {
      authUrl: ks.auth_url,
      username: ks.username,
      password: ks.password,
      userDomainName: ks.user_domain_name,
      region: ks.region_name,
      interface: config.compute.interface as 'public',
    },
    session,
    logger,
  );
  const base = publicUrl(config);
  let runner: JobRunner | undefined;
  const deps: Deps = {
    config,
    logger,
    db,
    templates: new TemplateRepo(db),
    clusters: new ClusterRepo(db),
    nodes: new NodeRepo(db),
    jobs: new JobRepo(db),
    quotas: new QuotaRepo(db),
    cas: new CaRepo(db),
    services: new ServiceRepo(db),
    caService: new CaService(new CaRepo(db), box, {
      keySize: config.certificates.rsa_key_size,
      caDays: config.certificates.ca_term_of_validity,
      certDays: config.certificates.term_of_validity,
    }),
    box,
    keystone,
    serviceSession: session,
    drivers: new DriverRegistry(
      [new SwarmModeDriver(config.swarm.os_distros)],
      config.drivers.disabled_drivers,
    ),
    publicUrl: base,
    reportUrl:
      config.swarm.report_url ||
      (config.node_api.host
        ? `http://${config.node_api.host}:${config.node_api.port}/node-api/v1/report`
        : `${base}/node-api/v1/report`),
    poke: (clusterUuid) => runner?.poke(clusterUuid),
  };

  const stops: Array<() => Promise<void>> = [];
  if (config.conductor.enabled) {
    runner = new JobRunner(deps);
    const periodic = new Periodic(deps);
    runner.start();
    periodic.start();
    stops.push(
      () => runner!.stop(),
      () => periodic.stop(),
    );
    logger.info({ host: config.DEFAULT.host }, 'conductor started');
  }
  if (config.api.enabled) {
    const app = buildApi(deps, validator, new ServiceMetrics('berth-cluster-service'));
    await app.listen({ host: config.api.host, port: config.api.port });
    logger.info({ url: base, report_url: deps.reportUrl }, 'API listening');
    stops.unshift(() => app.close());
    if (config.node_api.host) {
      const nodeApp = buildNodeApi(deps);
      await nodeApp.listen({ host: config.node_api.host, port: config.node_api.port });
      logger.info({ host: config.node_api.host, port: config.node_api.port }, 'node report API listening');
      stops.unshift(() => nodeApp.close());
    }
  }
  return async () => {
    for (const stop of stops) await stop();
    await database.close();
  };
}
