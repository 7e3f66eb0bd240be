// Every option of berth-cluster-service, declared once: the typed config,
// `--help` and `--print-sample-config` all come from here. Section and option
// names follow Magnum's where Magnum has the same knob.

import { hostname } from 'node:os';

import { databaseOpts, keystoneAuthtokenOpts, loggingOpts, opt, type ConfigOf } from '@berth/service-kit';

export const spec = {
  DEFAULT: {
    ...loggingOpts,
    host: opt.string({
      help: 'Name of this conductor, as `openstack coe service list` shows it; jobs held by this host are resumed at start',
      default: hostname(),
    }),
  },
  api: {
    host: opt.string({ help: 'Address the API listens on', default: '127.0.0.1' }),
    port: opt.int({ help: 'Port the API listens on (Magnum: 9511)', default: 9511, min: 0, max: 65535 }),
    public_url: opt.string({
      help: 'Base URL clients and cluster nodes reach the API at (links, node report URL); default http://<host>:<port>',
    }),
    max_limit: opt.int({ help: 'Largest page a list returns', default: 1000, min: 1 }),
    max_request_body_size: opt.int({
      help: 'Largest request body accepted, in bytes (413 above)',
      default: 114688,
      min: 1024,
    }),
    enabled: opt.bool({ help: 'Serve the API in this process', default: true }),
  },
  keystone_authtoken: keystoneAuthtokenOpts,
  database: {
    ...databaseOpts,
    connection: opt.string({
      help: 'Database URL: sqlite:////var/lib/berth/cluster-service/cluster.db (default) or postgresql://user:pass@host/db (a database of its own)',
      default: 'sqlite:////var/lib/berth/cluster-service/cluster.db',
    }),
  },
  conductor: {
    enabled: opt.bool({
      help: 'Run cluster jobs (create, resize, delete...) in this process',
      default: true,
    }),
    max_concurrent_jobs: opt.int({ help: 'Jobs this conductor runs at once', default: 8, min: 1 }),
    poll_interval: opt.float({ help: 'Seconds between looks for new jobs', default: 1, min: 0.05 }),
    lease_seconds: opt.int({
      help: 'A job whose conductor stops renewing its lease this long is taken over by another conductor',
      default: 30,
      min: 3,
    }),
    update_timeout: opt.int({
      help: 'Minutes a resize or upgrade may take before UPDATE_FAILED',
      default: 60,
      min: 1,
    }),
    delete_timeout: opt.int({ help: 'Minutes a delete may take before DELETE_FAILED', default: 30, min: 1 }),
    default_create_timeout: opt.int({
      help: 'Minutes a create may take when the cluster says create_timeout 0',
      default: 60,
      min: 1,
    }),
    health_polling_interval: opt.int({
      help: 'Seconds between health polls of each cluster',
      default: 60,
      min: 1,
    }),
    service_report_interval: opt.int({
      help: "Seconds between this conductor's liveness reports",
      default: 10,
      min: 1,
    }),
    service_down_time: opt.int({
      help: 'Seconds without a report after which a conductor is shown down',
      default: 60,
      min: 2,
    }),
  },
  quotas: {
    max_clusters_per_project: opt.int({
      help: 'Clusters a project may have without an explicit quota',
      default: 20,
      min: 0,
    }),
  },
  certificates: {
    encryption_key: opt.string({
      help: 'Key protecting private keys and node secrets at rest (AES-256-GCM, derived with scrypt): 32+ random characters, e.g. `openssl rand -base64 32`',
      required: true,
      secret: true,
    }),
    term_of_validity: opt.int({
      help: 'Days a signed certificate is valid (Magnum [x509] term_of_validity)',
      default: 1825,
      min: 1,
    }),
    ca_term_of_validity: opt.int({ help: 'Days a cluster CA is valid', default: 3650, min: 1 }),
    rsa_key_size: opt.int({
      help: 'Bits of the RSA keys the service generates (CAs)',
      default: 2048,
      min: 2048,
    }),
  },
  compute: {
    interface: opt.string({
      help: 'Catalog interface used to reach Nova and Glance for users',
      default: 'public',
      choices: ['public', 'internal', 'admin'],
    }),
    default_networks: opt.string({
      help: 'Networks of a node when the cluster names no fixed_network: none or auto (Nova 2.37)',
      default: 'none',
      choices: ['none', 'auto'],
    }),
  },
  cluster_template: {
    swarm_allowed_network_drivers: opt.list({
      help: 'Network drivers Swarm templates may use (all = any supported)',
      default: ['all'],
    }),
    swarm_default_network_driver: opt.string({
      help: 'Network driver of a Swarm template that names none',
      default: 'docker',
    }),
    kubernetes_allowed_network_drivers: opt.list({
      help: 'Network drivers Kubernetes templates may use',
      default: ['all'],
    }),
    kubernetes_default_network_driver: opt.string({
      help: 'Network driver of a Kubernetes template that names none',
      default: 'flannel',
    }),
  },
  drivers: {
    disabled_drivers: opt.list({ help: 'Driver names not to offer (e.g. swarm_mode)', default: [] }),
  },
  node_api: {
    host: opt.string({
      help: 'Also serve the node report API (only it) on this address, one the cluster nodes can reach (e.g. the host on a provider network); empty: only on [api]',
      default: '',
    }),
    port: opt.int({ help: 'Port of the node report listener', default: 9512, min: 0, max: 65535 }),
  },
  swarm: {
    os_distros: opt.list({
      help: 'Glance os_distro values of node images the Swarm driver accepts',
      default: ['debian', 'ubuntu', 'fedora-coreos', 'berth-swarm-node'],
    }),
    report_url: opt.string({
      help: 'URL nodes send their reports to (default: the [node_api] listener if set, else [api] public_url + /node-api/v1/report)',
    }),
    api_port: opt.int({
      help: 'Port of the TLS Docker API on managers, unless the template sets apiserver_port',
      default: 2376,
      min: 1,
      max: 65535,
    }),
    report_interval: opt.int({ help: "Seconds between a node's heartbeats", default: 30, min: 1 }),
    node_down_after: opt.int({
      help: 'Seconds without a heartbeat after which a node counts as not ready',
      default: 120,
      min: 2,
    }),
  },
};

export type Config = ConfigOf<typeof spec>;

export const SERVICE_NAME = 'berth-cluster-service';
export const ENV_PREFIX = 'BERTH_CLUSTER';
export const DEFAULT_CONFIG_FILES = ['/etc/berth/cluster-service.conf'];

/** The base URL of the API: [api] public_url, or the listen address. */
export function publicUrl(c: Config): string {
  return (c.api.public_url || `http://${c.api.host}:${c.api.port}`).replace(/\/+$/, '');
}
