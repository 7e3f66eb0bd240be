import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ConfigError, envName, loadConfig, renderOptionsHelp, renderSampleConfig } from './load';
import { opt } from './options';

const spec = {
  DEFAULT: {
    debug: opt.bool({ help: 'debug logs', default: false }),
    host: opt.string({ help: 'host name', required: true }),
  },
  agent: {
    workers: opt.int({ help: 'workers', default: 2, min: 1, max: 8 }),
    reserved: opt.dict({ help: 'reservations', default: {} }),
    mode: opt.string({ help: 'mode', default: 'a', choices: ['a', 'b'] }),
    dirs: opt.list({ help: 'dirs', default: [] }),
    password: opt.string({ help: 'secret', secret: true }),
  },
};

function file(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
  const p = join(dir, 'x.conf');
  writeFileSync(p, text);
  return p;
}

describe('loadConfig', () => {
  it('applies defaults, files in order, then environment overrides', () => {
    const a = file('[DEFAULT]\nhost = a\ndebug = yes\n[agent]\nworkers = 3\ndirs = /x, /y\n');
    const b = file('[agent]\nworkers = 4\nreserved = memory_mb:512,vcpus:1\n');
    const { config, sources } = loadConfig(spec, {
      files: [a, b],
      env: { [envName('BERTH_T', 'agent', 'mode')]: 'b' },
      envPrefix: 'BERTH_T',
    });
    expect(config.DEFAULT).toEqual({ debug: true, host: 'a' });
    expect(config.agent.workers).toBe(4);
    expect(config.agent.dirs).toEqual(['/x', '/y']);
    expect(config.agent.reserved).toEqual({ memory_mb: '512', vcpus: '1' });
    expect(config.agent.mode).toBe('b');
    expect(config.agent.password).toBeUndefined();
    expect(sources['agent.workers']).toBe(b);
    expect(sources['agent.mode']).toBe('env BERTH_T__AGENT__MODE');
  });

  it('reports every bad or missing value at once', () => {
    const f = file('[agent]\nworkers = many\nmode = c\n');
    let err: ConfigError | undefined;
    try {
      loadConfig(spec, { files: [f] });
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.problems).toHaveLength(3);
    expect(err!.message).toContain('[DEFAULT] host is required');
    expect(err!.message).toContain('[agent] workers: must be an integer, got "many"');
    expect(err!.message).toContain('[agent] mode: must be one of a, b');
  });

  it('enforces integer bounds', () => {
    const f = file('[DEFAULT]\nhost = h\n[agent]\nworkers = 9\n');
    expect(() => loadConfig(spec, { files: [f] })).toThrow('must be <= 8');
  });

  it('lists options it does not know without failing', () => {
    const f = file('[DEFAULT]\nhost = h\nfoo = 1\n[other]\nbar = 2\n');
    expect(loadConfig(spec, { files: [f] }).unknown).toEqual(['DEFAULT.foo', 'other.bar']);
  });

  it('renders help with env names and never prints a secret default', () => {
    const help = renderOptionsHelp(spec, 'BERTH_T');
    expect(help).toContain('[agent]');
    expect(help).toContain('workers <integer> (default: 2)');
    expect(help).toContain('env: BERTH_T__AGENT__WORKERS');
    expect(help).toContain('password <string> (secret)');
    const sample = renderSampleConfig(spec, 'test');
    expect(sample).toContain('#workers = 2');
    expect(sample).toContain('#password = <None>');
  });
});
