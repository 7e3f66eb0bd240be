import { opt } from './options';

/**
 * Option groups every Berth service shares, named as in OpenStack services
 * so operators find the usual knobs in the usual sections.
 */
export const loggingOpts = {
  debug: opt.bool({ help: 'Log at debug level', default: false }),
  log_file: opt.string({ help: 'Write JSON logs to this file instead of standard output' }),
};

export const keystoneAuthtokenOpts = {
  www_authenticate_uri: opt.string({
    help: 'Public Keystone URL sent to clients in WWW-Authenticate on 401',
    required: true,
  }),
  auth_url: opt.string({ help: 'Keystone URL the service authenticates against', required: true }),
  username: opt.string({ help: 'Service user validating tokens', required: true }),
  password: opt.string({ help: 'Password of the service user', required: true, secret: true }),
  project_name: opt.string({ help: 'Project of the service user', default: 'service' }),
  user_domain_name: opt.string({ help: 'Domain of the service user', default: 'Default' }),
  project_domain_name: opt.string({ help: 'Domain of the service project', default: 'Default' }),
  region_name: opt.string({ help: 'Region used for catalog lookups', default: 'RegionOne' }),
  interface: opt.string({
    help: 'Catalog interface used to reach other services',
    default: 'internal',
    choices: ['public', 'internal', 'admin'],
  }),
  token_cache_time: opt.int({
    help: 'Seconds a validated token is cached (capped by its expiry); revocations take up to this long to be seen',
    default: 300,
    min: 0,
  }),
};

export const databaseOpts = {
  connection: opt.string({
    help: 'Database URL as SQLAlchemy writes it: sqlite:////var/lib/berth/x.db (embedded SQLite; four slashes for an absolute path) or postgresql://user:pass@host/db',
    required: true,
  }),
};

export const messagingOpts = {
  transport_url: opt.string({
    help: 'RabbitMQ URL, as in every OpenStack service: rabbit://user:pass@host:5672/vhost',
    default: 'rabbit://guest:guest@127.0.0.1:5672/',
    secret: false,
  }),
  control_exchange: opt.string({ help: 'AMQP exchange for RPC (Nova uses "nova")', default: 'openstack' }),
};
