// Every option of berth-heat-resources, oslo-style: INI sections in
// /etc/berth/heat-resources.conf, overridable from the environment as
// BERTH_HEAT_RESOURCES__<SECTION>__<KEY>. `--help` and
// `--print-sample-config` are generated from these declarations.

import { type ConfigOf, databaseOpts, keystoneAuthtokenOpts, loggingOpts, opt } from '@berth/service-kit';

export const STATE_DIR = '/var/lib/berth/heat-resources';
export const DEFAULT_SERVICE_TYPE = 'container-orchestration';

const interfaceOpt = (what: string) =>
  opt.string({
    help: `Catalog interface used to reach ${what} (acting as the calling user)`,
    default: 'internal',
    choices: ['public', 'internal', 'admin'],
  });

export const serviceSpec = {
  DEFAULT: {
    ...loggingOpts,
    state_dir: opt.string({
      help: 'Directory for the service state: the default SQLite database and the resource types file',
      default: STATE_DIR,
    }),
    types_file: opt.string({
      help:
        'Where the service writes the Heat type schema at start (the file heat-engine plugin reads; devstack ' +
        'copies it to each heat-engine host); empty: <state_dir>/resource-types.json; none: not written',
      default: '',
    }),
    service_type: opt.string({
      help: 'Keystone catalog type this service is registered as (published in the type schema)',
      default: DEFAULT_SERVICE_TYPE,
    }),
  },
  api: {
    bind_host: opt.string({ help: 'Address the API listens on', default: '127.0.0.1' }),
    bind_port: opt.int({ help: 'Port the API listens on', default: 8788, min: 0, max: 65535 }),
    max_body_bytes: opt.int({
      help: 'Largest request body accepted (413 above)',
      default: 256 * 1024,
      min: 1024,
    }),
  },
  keystone_authtoken: keystoneAuthtokenOpts,
  database: {
    connection: opt.string({
      help: `${databaseOpts.connection.help}; default sqlite:///<state_dir>/heat-resources.db`,
      default: '',
    }),
  },
  compute: { interface: interfaceOpt('Nova') },
  network: { interface: interfaceOpt('Neutron') },
  image: { interface: interfaceOpt('Glance') },
  containers: {
    flavor_selection: opt.string({
      help:
        'What a container without a flavor gets: smallest (the smallest public flavor with at least its cpu and ' +
        'memory, and no berth: admin grants) or require (refuse: the flavor property is mandatory)',
      default: 'smallest',
      choices: ['smallest', 'require'],
    }),
    log_lines: opt.int({
      help: 'Lines of console output the logs attribute returns',
      default: 50,
      min: 1,
      max: 10000,
    }),
    log_timeout: opt.int({
      help:
        "Seconds the logs attribute waits for Nova's console log; past it (or when Nova fails) the attribute is " +
        'null, so one slow compute host cannot hold up `stack show` and its outputs',
      default: 10,
      min: 1,
    }),
  },
  networks: {
    delete_timeout: opt.int({
      help:
        'Seconds a network delete keeps retrying while Neutron says it is in use (ports of containers being ' +
        "deleted); then the delete fails with Neutron's reason",
      default: 120,
      min: 0,
    }),
  },
};

export type ServiceConfig = ConfigOf<typeof serviceSpec>;
