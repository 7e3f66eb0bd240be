// Every option of berth-glance-bridge, oslo-style: INI sections in
// /etc/berth/glance-bridge.conf, overridable from the environment as
// BERTH_GLANCE_BRIDGE__<SECTION>__<KEY>. `--help` and
// `--print-sample-config` are generated from these declarations.

import { type ConfigOf, databaseOpts, keystoneAuthtokenOpts, loggingOpts, opt } from '@berth/service-kit';

export const STATE_DIR = '/var/lib/berth/glance-bridge';

export const bridgeSpec = {
  DEFAULT: {
    ...loggingOpts,
    state_dir: opt.string({
      help: 'Directory for the bridge state: upload staging, the token signing key, the default SQLite database',
      default: STATE_DIR,
    }),
  },
  api: {
    bind_host: opt.string({ help: 'Address the registry listens on', default: '127.0.0.1' }),
    bind_port: opt.int({ help: 'Port the registry listens on', default: 9494, min: 0, max: 65535 }),
    public_url: opt.string({
      help:
        'Base URL clients use to reach the registry (e.g. https://registry.example.com). Used in the token ' +
        'realm, in Location headers and in the Nova boot images; empty: taken from each request Host header',
      default: '',
    }),
    service_name: opt.string({
      help: 'The `service` of the Docker token flow (WWW-Authenticate and the token audience)',
      default: 'berth-glance-bridge',
    }),
    max_manifest_bytes: opt.int({
      help: 'Largest manifest accepted; larger pushes are answered 413 (the spec asks for at least 4 MiB)',
      default: 4 * 1024 * 1024,
      min: 4 * 1024 * 1024,
    }),
  },
  keystone_authtoken: keystoneAuthtokenOpts,
  database: {
    connection: opt.string({
      help: `${databaseOpts.connection.help}; default sqlite:///<state_dir>/registry.db`,
      default: '',
    }),
  },
  storage: {
    driver: opt.string({
      help: 'Where blobs and manifests live: glance (images of the service project) or filesystem (tests, single node)',
      default: 'glance',
      choices: ['glance', 'filesystem'],
    }),
    filesystem_root: opt.string({
      help: 'Directory of the filesystem driver; default <state_dir>/objects',
      default: '',
    }),
  },
  glance: {
    endpoint_override: opt.string({
      help: 'Glance URL instead of the catalog entry of type image',
      default: '',
    }),
    interface: opt.string({
      help: 'Catalog interface used to find Glance',
      default: 'internal',
      choices: ['public', 'internal', 'admin'],
    }),
    namespace: opt.string({
      help:
        'Label (image property berth_store_namespace) of this registry images: bridges sharing a Glance and a ' +
        'service project must use different namespaces, or their garbage collectors delete each other images',
      default: 'berth-glance-bridge',
    }),
  },
  upload: {
    staging_dir: opt.string({
      help: 'Where blob uploads are staged and verified before they reach the store; default <state_dir>/uploads',
      default: '',
    }),
    session_ttl: opt.int({
      help: 'Seconds an upload session may stay idle before it is cancelled and its staged bytes removed',
      default: 86400,
      min: 60,
    }),
  },
  cache: {
    max_size_mb: opt.int({
      help:
        'Local disk cache of blobs in front of Glance (pushed blobs enter it for free, pulled ones as they stream); ' +
        'MiB, 0 disables. Blobs larger than a quarter of it are not cached',
      default: 10240,
      min: 0,
    }),
    dir: opt.string({ help: 'Directory of the blob cache; default <state_dir>/cache', default: '' }),
  },
  token: {
    secret_key: opt.string({
      help:
        'Key signing registry tokens (HMAC-SHA256). Bridges behind one load balancer need the same key; ' +
        'empty: a random key kept in <state_dir>/token.key',
      default: '',
      secret: true,
    }),
    expiration: opt.int({ help: 'Lifetime of registry tokens, seconds', default: 300, min: 1 }),
  },
  auth: {
    read_only_roles: opt.list({
      help: 'Roles that allow pull but not push or delete in a project (any other role allows all three)',
      default: ['reader'],
    }),
    global_read_roles: opt.list({
      help:
        'Roles that may pull every repository of every project (service users such as the nova-driver agent, ' +
        'and cloud admins)',
      default: ['admin', 'service'],
    }),
    admin_roles: opt.list({
      help: 'Roles allowed to mark repositories public and to list every project repositories',
      default: ['admin'],
    }),
    credential_cache_time: opt.int({
      help: 'Seconds a checked Keystone credential (and the roles found with it) is reused for token requests',
      default: 60,
      min: 0,
    }),
  },
  gc: {
    grace_period: opt.int({
      help: 'Seconds an unreferenced blob (or an orphaned store image) is kept before the GC deletes it',
      default: 86400,
      min: 0,
    }),
    delete_untagged: opt.bool({
      help: 'Also delete manifests that no tag, index or referrer keeps (older than the grace period)',
      default: false,
    }),
  },
  nova: {
    register_on_push: opt.bool({
      help:
        'On each tag push of a runnable image, register a Glance image in the pushing project that Nova can ' +
        'boot (see "Nova boot contract" in the README)',
      default: true,
    }),
    registry_host: opt.string({
      help:
        'host:port the compute hosts docker daemons pull from (berth_oci_registry); default: the host of ' +
        'public_url, else bind_host:bind_port',
      default: '',
    }),
  },
};

export type BridgeConfig = ConfigOf<typeof bridgeSpec>;
