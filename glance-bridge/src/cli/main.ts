#!/usr/bin/env node
// berth-glance-bridge: the registry daemon and its operator commands.
//
//   berth-glance-bridge [--config-file F]                       serve the registry
//   berth-glance-bridge [--config-file F] gc [--dry-run] [--grace-period S]
//   berth-glance-bridge [--config-file F] set-public <project>/<repo> [true|false]

import { runService } from '@berth/service-kit';

import { createBridge, openCore, SERVICE_NAME } from '../app';
import { bridgeSpec } from '../config';
import { collectGarbage } from '../core/gc';

const USAGE = `commands:
  (none)                         serve the registry on [api] bind_host:bind_port
  gc [--dry-run] [--grace-period SECONDS]
                                 delete what no repository references any more ([gc] options;
                                 --grace-period overrides [gc] grace_period); prints a JSON report
  set-public <project>/<repo> [true|false]
                                 let anyone pull a repository anonymously (default true), or stop it

examples:
  berth-glance-bridge --config-file /etc/berth/glance-bridge.conf
  berth-glance-bridge --config-file /etc/berth/glance-bridge.conf gc --dry-run
  berth-glance-bridge --config-file /etc/berth/glance-bridge.conf set-public demo/busybox`;

/** Pulls the command's own flags out of argv; runService only knows --config-file and --help. */
export function splitArgs(argv: string[]): { service: string[]; flags: Record<string, string | true> } {
  const service: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--dry-run') flags['dry-run'] = true;
    else if (a === '--grace-period') flags['grace-period'] = argv[++i] ?? '';
    else if (a.startsWith('--grace-period=')) flags['grace-period'] = a.slice('--grace-period='.length);
    else service.push(a);
  }
  return { service, flags };
}

const { service, flags } = splitArgs(process.argv.slice(2));
const isCommand = service.some((a) => ['gc', 'set-public'].includes(a));

void runService(
  {
    name: SERVICE_NAME,
    description:
      'An OCI Distribution v1.1 registry (docker, skopeo, podman) whose blobs and manifests are Glance images, ' +
      'with Keystone auth and repositories scoped to Keystone projects.',
    spec: bridgeSpec,
    envPrefix: 'BERTH_GLANCE_BRIDGE',
    defaultConfigFiles: ['/etc/berth/glance-bridge.conf'],
    usage: USAGE,
    // commands print their result on stdout: their logs go to stderr (or the configured file)
    loggingFrom: (c) => ({
      debug: c.DEFAULT.debug,
      ...(c.DEFAULT.log_file ? { file: c.DEFAULT.log_file } : isCommand ? { file: '/dev/stderr' } : {}),
    }),
    start: async ({ config, logger, args }) => {
      const [command, ...rest] = args;
      if (command === undefined) {
        const bridge = await createBridge(config, logger);
        await bridge.app.listen({ host: config.api.bind_host, port: config.api.bind_port });
        logger.info(
          { url: `http://${config.api.bind_host}:${config.api.bind_port}`, store: bridge.store.name },
          'registry listening',
        );
        return () => bridge.close();
      }
      const core = await openCore(config, logger);
      try {
        if (command === 'gc') {
          const grace = flags['grace-period'];
          if (grace !== undefined && !/^\d+$/.test(String(grace))) {
            throw new Error(`--grace-period takes seconds, got "${String(grace)}"`);
          }
          const report = await collectGarbage(
            {
              db: core.db,
              store: core.store,
              uploads: core.registry.uploads,
              bootImages: core.bootImages,
              cache: core.cache,
              log: logger,
            },
            {
              gracePeriod: grace === undefined ? config.gc.grace_period : Number(grace),
              deleteUntagged: config.gc.delete_untagged,
              dryRun: flags['dry-run'] === true,
            },
          );
          process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
          if (report.errors.length) process.exitCode = 1;
        } else if (command === 'set-public') {
          const [name, value = 'true'] = rest;
          if (!name || !/^(true|false)$/.test(value))
            throw new Error('usage: set-public <project>/<repo> [true|false]');
          const slash = name.indexOf('/');
          const repos =
            slash > 0
              ? await core.db.findRepositories(name.slice(0, slash), name.slice(slash + 1), false)
              : [];
          if (repos.length !== 1 || !repos[0]) throw new Error(`no single repository named ${name}`);
          await core.db.setPublic(repos[0].id, value === 'true');
          process.stdout.write(`${name}: public=${value}\n`);
        } else {
          throw new Error(`unknown command "${command}"; see --help`);
        }
      } finally {
        await core.handle.close();
      }
      // a command, not a daemon: leave once done
      setTimeout(() => process.exit(), 50).unref();
    },
  },
  service,
);
