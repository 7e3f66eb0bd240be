import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';

import { ConfigError, loadConfig, renderOptionsHelp, renderSampleConfig } from './config/load';
import { ConfigOf, ConfigSpec } from './config/options';
import { createLogger, Logger } from './log/logger';

export interface ServiceContext<S extends ConfigSpec> {
  config: ConfigOf<S>;
  logger: Logger;
  /** the command-line words after the options (subcommands such as `gc`) */
  args: string[];
}

export interface ServiceDefinition<S extends ConfigSpec> {
  /** process name as operators see it: berth-nova-agent, berth-glance-bridge... */
  name: string;
  description: string;
  spec: S;
  /** env override prefix: BERTH_AGENT -> BERTH_AGENT__DEFAULT__DEBUG */
  envPrefix: string;
  defaultConfigFiles: string[];
  /** extra --help text: subcommands, examples */
  usage?: string;
  /** where the service keeps its debug and log_file options */
  loggingFrom?: (config: ConfigOf<S>) => { debug?: boolean; file?: string };
  /** starts the service and returns its stop function (called on SIGTERM/SIGINT) */
  start: (ctx: ServiceContext<S>) => Promise<(() => Promise<void>) | void>;
}

/**
 * The common `main` of Berth's daemons and commands: `--config-file` (repeatable,
 * later files win), `--help` listing every option, `--print-sample-config`,
 * structured logs, and a graceful stop on SIGTERM/SIGINT.
 */
export async function runService<S extends ConfigSpec>(
  def: ServiceDefinition<S>,
  argv = process.argv.slice(2),
) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        'config-file': { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
        'print-sample-config': { type: 'boolean' },
      },
    });
  } catch (e) {
    process.stderr.write(`${def.name}: ${(e as Error).message}\nTry ${def.name} --help\n`);
    process.exit(2);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(
      `usage: ${def.name} [--config-file FILE]... ${def.usage ? '[COMMAND]' : ''}\n\n${def.description}\n\n` +
        `options:\n  --config-file FILE      INI file (repeatable; default: ${def.defaultConfigFiles.join(', ')})\n` +
        `  --print-sample-config   print a commented sample configuration and exit\n` +
        `  -h, --help              this help\n` +
        (def.usage ? `\n${def.usage}\n` : '') +
        `\nconfiguration (INI sections and keys; environment variables override files):\n` +
        renderOptionsHelp(def.spec, def.envPrefix) +
        '\n',
    );
    return;
  }
  if (v['print-sample-config']) {
    process.stdout.write(renderSampleConfig(def.spec, `${def.name} configuration`) + '\n');
    return;
  }
  const files = v['config-file'] ?? def.defaultConfigFiles.filter((f) => existsSync(f));
  let loaded;
  try {
    loaded = loadConfig(def.spec, { files, env: process.env, envPrefix: def.envPrefix });
  } catch (e) {
    process.stderr.write(`${def.name}: ${e instanceof ConfigError ? e.message : String(e)}\n`);
    process.exit(2);
  }
  const lo = def.loggingFrom?.(loaded.config) ?? {};
  const logger = createLogger({
    service: def.name,
    debug: lo.debug ?? false,
    ...(lo.file ? { file: lo.file } : {}),
    base: { hostname: hostname() },
  });
  logger.info({ config_files: files, sources: loaded.sources }, `${def.name} starting`);
  if (loaded.unknown.length)
    logger.warn({ options: loaded.unknown }, 'ignoring unknown configuration options');

  let stop: (() => Promise<void>) | void;
  try {
    stop = await def.start({ config: loaded.config, logger, args: parsed.positionals });
  } catch (e) {
    logger.fatal({ err: e }, `${def.name} failed to start`);
    logger.flush?.();
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 200).unref();
    return;
  }
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, `${def.name} stopping`);
    try {
      await stop?.();
      logger.info(`${def.name} stopped`);
    } catch (e) {
      logger.error({ err: e }, 'error while stopping');
      process.exitCode = 1;
    }
    logger.flush?.();
    setTimeout(() => process.exit(), 100).unref();
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection'));
}
