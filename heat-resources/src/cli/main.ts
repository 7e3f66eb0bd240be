#!/usr/bin/env node
// berth-heat-resources: the service behind Heat's OS::Container::* types,
// and its operator commands.
//
//   berth-heat-resources [--config-file F]                      serve the API
//   berth-heat-resources [--config-file F] write-types FILE     write the Heat type schema and exit

import { runService } from '@berth/service-kit';

import { createService, SERVICE_NAME, writeTypesFile } from '../app';
import { serviceSpec } from '../config';
import { openApiDocument } from '../openapi';
import { buildResourceTypes } from '../types/heat-schema';

const USAGE = `commands:
  (none)             serve the API on [api] bind_host:bind_port (and write [DEFAULT] types_file)
  write-types FILE   write the Heat type schema heat-engine's plugin reads to FILE, and exit
                     (devstack installs it on each heat-engine host; no database or Keystone needed)

examples:
  berth-heat-resources --config-file /etc/berth/heat-resources.conf
  berth-heat-resources write-types /etc/heat/berth/resource-types.json`;

void runService({
  name: SERVICE_NAME,
  description:
    "The service behind Heat's OS::Container::Container, OS::Container::Network and OS::Container::Volume: " +
    "heat-engine's Berth plugin forwards every resource hook here with the user's Keystone token; containers " +
    "are Nova servers booted through Berth's nova-driver, networks are Neutron networks.",
  spec: serviceSpec,
  envPrefix: 'BERTH_HEAT_RESOURCES',
  defaultConfigFiles: ['/etc/berth/heat-resources.conf'],
  usage: USAGE,
  loggingFrom: (c) => ({
    debug: c.DEFAULT.debug,
    ...(c.DEFAULT.log_file ? { file: c.DEFAULT.log_file } : {}),
  }),
  start: async ({ config, logger, args }) => {
    const [command, ...rest] = args;
    if (command === undefined) {
      const svc = await createService(config, logger);
      await svc.app.listen({ host: config.api.bind_host, port: config.api.bind_port });
      logger.info(
        { url: `http://${config.api.bind_host}:${config.api.bind_port}`, types_version: svc.types.version },
        'heat-resources listening',
      );
      return () => svc.close();
    }
    if (command === 'write-types') {
      const [file] = rest;
      if (!file || rest.length !== 1) throw new Error('usage: write-types FILE');
      const types = buildResourceTypes(openApiDocument(), config.DEFAULT.service_type);
      writeTypesFile(file, types);
      process.stdout.write(
        `${file}: ${Object.keys(types.resource_types).join(', ')} (version ${types.version})\n`,
      );
      setTimeout(() => process.exit(), 50).unref();
      return;
    }
    throw new Error(`unknown command "${command}"; see --help`);
  },
});
