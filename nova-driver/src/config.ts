import { hostname } from 'node:os';

import { databaseOpts, keystoneAuthtokenOpts, loggingOpts, messagingOpts, opt } from '@berth/service-kit';

/**
 * /etc/berth/nova-agent.conf. Section and option names follow the OpenStack
 * services an operator already configures: [DEFAULT] host and transport_url
 * as in nova.conf, [service_auth] like a [keystone_authtoken] section.
 */
export const agentConfigSpec = {
  DEFAULT: {
    ...loggingOpts,
    host: opt.string({
      help: 'This container host as Nova knows it: must equal [DEFAULT] host of the nova-compute beside it',
      default: hostname(),
    }),
    transport_url: messagingOpts.transport_url,
    control_exchange: opt.string({
      help: 'AMQP exchange shared with Nova (Nova uses "nova")',
      default: 'nova',
    }),
  },
  agent: {
    topic: opt.string({ help: 'RPC topic the agent serves (queue <topic>.<host>)', default: 'berth-agent' }),
    events_topic: opt.string({
      help: 'RPC topic of the Nova shim for lifecycle events (queue <topic>.<host>)',
      default: 'berth-compute-events',
    }),
    docker_socket: opt.string({ help: 'dockerd Engine API unix socket', default: '/var/run/docker.sock' }),
    sandbox_image: opt.string({
      help: 'Image of the sandbox container holding each instance network namespace (needs /bin/sleep)',
      default: 'berth/sandbox:latest',
    }),
    network_plugger: opt.string({
      help: 'How Neutron ports are wired into containers: linuxbridge (veth tap<port> on brq<network>, for the ML2 linuxbridge driver) or none (--nic none only)',
      default: 'linuxbridge',
      choices: ['linuxbridge', 'none'],
    }),
    image_cache_max_gb: opt.float({
      help: 'Bytes of loaded Glance images kept on the host, in GiB',
      default: 20,
      min: 0,
    }),
    pids_limit: opt.int({ help: 'Most processes one container may run', default: 4096, min: 16 }),
    default_stop_timeout: opt.int({
      help: 'Seconds between SIGTERM and SIGKILL when stopping a container, unless Nova or the spec says otherwise',
      default: 10,
      min: 0,
    }),
    console_tail_lines: opt.int({
      help: 'Lines of container output returned as console log',
      default: 1000,
      min: 1,
    }),
    max_concurrent_requests: opt.int({ help: 'RPC requests handled at once', default: 16, min: 1 }),
  },
  resources: {
    reserved_host_cpus: opt.int({
      help: 'vCPUs kept for the host (Placement VCPU reserved)',
      default: 0,
      min: 0,
    }),
    reserved_host_memory_mb: opt.int({
      help: 'MiB kept for the host (Placement MEMORY_MB reserved)',
      default: 512,
      min: 0,
    }),
    reserved_host_disk_gb: opt.int({
      help: 'GiB kept for the host (Placement DISK_GB reserved)',
      default: 0,
      min: 0,
    }),
  },
  service_auth: {
    ...keystoneAuthtokenOpts,
    www_authenticate_uri: opt.string({ help: 'unused by the agent', default: '' }),
  },
  glance: {
    endpoint_override: opt.string({ help: 'Glance URL; the Keystone catalog (type image) when unset' }),
  },
  database: {
    connection: opt.string({
      help: databaseOpts.connection.help,
      default: 'sqlite:////var/lib/berth/nova-agent/agent.db',
    }),
  },
};
