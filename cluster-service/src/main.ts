#!/usr/bin/env node
// berth-cluster-service: the Magnum-compatible cluster API and its conductor.

import { runService } from '@berth/service-kit';

import { DEFAULT_CONFIG_FILES, ENV_PREFIX, SERVICE_NAME, spec } from './config';
import { startClusterService } from './service';

void runService({
  name: SERVICE_NAME,
  description:
    'Container clusters as a service: a Magnum v1 compatible API (openstack coe ..., python-magnumclient, ' +
    "Horizon's magnum-ui) and a conductor that builds Docker Swarm clusters on Nova servers.",
  spec,
  envPrefix: ENV_PREFIX,
  defaultConfigFiles: DEFAULT_CONFIG_FILES,
  usage:
    'examples:\n' +
    '  berth-cluster-service --config-file /etc/berth/cluster-service.conf\n' +
    '  BERTH_CLUSTER__API__PORT=9512 berth-cluster-service --config-file /etc/berth/cluster-service.conf',
  loggingFrom: (c) => ({
    debug: c.DEFAULT.debug,
    ...(c.DEFAULT.log_file ? { file: c.DEFAULT.log_file } : {}),
  }),
  start: async ({ config, logger }) => startClusterService(config, logger),
});
