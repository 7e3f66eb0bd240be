import { readFileSync } from 'node:fs';

import { IniData, parseIni } from './ini';
import { ConfigOf, ConfigSpec, ConfigValueError, Opt } from './options';

export interface LoadOptions {
  /** INI files read in order; later files override earlier ones (as oslo.config) */
  files?: string[];
  /** environment; `${envPrefix}__${SECTION}__${KEY}` overrides any file */
  env?: NodeJS.ProcessEnv;
  envPrefix?: string;
}

export interface LoadedConfig<S extends ConfigSpec> {
  config: ConfigOf<S>;
  /** `section.key` found in files but not declared: logged by the service, not fatal (oslo ignores them too) */
  unknown: string[];
  /** where each set value came from, for the start-up log (never the value of a secret) */
  sources: Record<string, string>;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** BERTH_AGENT__KEYSTONE_AUTHTOKEN__AUTH_URL for prefix BERTH_AGENT, [keystone_authtoken] auth_url */
export function envName(prefix: string, section: string, key: string): string {
  const norm = (s: string) => s.toUpperCase().replace(/[^A-Z0-9]/g, '_');
  return `${norm(prefix)}__${norm(section)}__${norm(key)}`;
}

export function loadConfig<S extends ConfigSpec>(spec: S, opts: LoadOptions = {}): LoadedConfig<S> {
  const data: IniData = new Map();
  const fileOf = new Map<string, string>();
  for (const file of opts.files ?? []) {
    // a later file replaces a key's values; within one file, repeats accumulate (MultiStrOpt)
    for (const [section, keys] of parseIni(readFileSync(file, 'utf8'), file)) {
      const into = data.get(section) ?? new Map<string, string[]>();
      data.set(section, into);
      for (const [key, values] of keys) {
        into.set(key, values);
        fileOf.set(`${section}\0${key}`, file);
      }
    }
  }
  const problems: string[] = [];
  const sources: Record<string, string> = {};
  const config: Record<string, Record<string, unknown>> = {};
  for (const [section, options] of Object.entries(spec)) {
    const out: Record<string, unknown> = {};
    config[section] = out;
    for (const [key, o] of Object.entries(options) as [string, Opt<unknown>][]) {
      const id = `${section}.${key}`;
      const envKey = opts.envPrefix ? envName(opts.envPrefix, section, key) : undefined;
      const fromEnv = envKey !== undefined ? opts.env?.[envKey] : undefined;
      let raw: string[] | undefined;
      if (fromEnv !== undefined) {
        raw = [fromEnv];
        sources[id] = `env ${envKey}`;
      } else if (data.get(section)?.has(key)) {
        raw = data.get(section)!.get(key)!;
        sources[id] = fileOf.get(`${section}\0${key}`) ?? 'file';
      }
      if (raw === undefined) {
        if (o.required && o.default === undefined) {
          problems.push(`[${section}] ${key} is required (${o.help})`);
        }
        out[key] = o.default;
        continue;
      }
      try {
        out[key] = o.parse(raw);
      } catch (e) {
        const why = e instanceof ConfigValueError ? e.message : String(e);
        problems.push(`[${section}] ${key}: ${why} (from ${sources[id]})`);
      }
    }
  }
  if (problems.length) throw new ConfigError(problems);
  const unknown: string[] = [];
  for (const [section, keys] of data) {
    for (const key of keys.keys()) {
      if (!spec[section]?.[key]) unknown.push(`${section}.${key}`);
    }
  }
  return { config: config as ConfigOf<S>, unknown, sources };
}

/** The options as `--help` lists them: one block per section. */
export function renderOptionsHelp(spec: ConfigSpec, envPrefix?: string): string {
  const lines: string[] = [];
  for (const [section, options] of Object.entries(spec)) {
    lines.push(`[${section}]`);
    for (const [key, o] of Object.entries(options)) {
      const def =
        o.default === undefined ? (o.required ? ' (required)' : '') : ` (default: ${fmt(o.default)})`;
      lines.push(`  ${key} <${o.kind}>${o.secret ? ' (secret)' : def}`);
      lines.push(`      ${o.help}`);
      if (envPrefix) lines.push(`      env: ${envName(envPrefix, section, key)}`);
    }
  }
  return lines.join('\n');
}

/** A commented sample file, like oslo-config-generator's output. */
export function renderSampleConfig(spec: ConfigSpec, title: string): string {
  const lines: string[] = [`# ${title}`, '# Every option with its default, commented out.', ''];
  for (const [section, options] of Object.entries(spec)) {
    lines.push(`[${section}]`, '');
    for (const [key, o] of Object.entries(options)) {
      lines.push(`# ${o.help} (${o.kind}${o.required ? ', required' : ''})`);
      lines.push(`#${key} = ${o.default === undefined || o.secret ? '<None>' : fmt(o.default)}`, '');
    }
  }
  return lines.join('\n');
}

function fmt(v: unknown): string {
  if (Array.isArray(v)) return v.join(',');
  if (v && typeof v === 'object') {
    return Object.entries(v)
      .map(([k, x]) => `${k}:${String(x)}`)
      .join(',');
  }
  return String(v);
}
