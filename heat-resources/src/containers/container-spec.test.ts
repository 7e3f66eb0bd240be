import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import Ajv from 'ajv';
import { parse } from 'yaml';

import { containerSpec, MAX_USER_DATA_BYTES, restartPolicy, SPEC_HEADER, userData } from './container-spec';

// the contract with Berth's nova-driver: every spec we write must pass its published schema
const novaDriverSchema = JSON.parse(
  readFileSync(join(__dirname, '../../../nova-driver/schema/container-spec.schema.json'), 'utf8'),
) as object;
const validSpec = new Ajv({ allErrors: true, strict: false }).compile(novaDriverSchema);

describe('container spec user data', () => {
  it('carries every container property Nova has no field for', () => {
    const spec = containerSpec(
      {
        image: 'busybox',
        command: ['/bin/sh', '-c', 'exec httpd -f'],
        entrypoint: [],
        environment: { A: 'one', N: 2, B: true },
        working_dir: '/srv',
        user: '1000:1000',
        hostname: 'web-1',
        ports: [{ port: 8080 }, { port: 53, protocol: 'udp' }],
        restart_policy: 'on-failure:3',
        health_check: { command: ['/bin/true'], interval: 5, retries: 2 },
        labels: { tier: 'web' },
        volumes: [
          { name: 'cache', mount_path: '/cache' },
          { volume: 'vol-1', mount_path: '/data', read_only: true },
        ],
      },
      new Map([['vol-1', 'shared-data']]),
    );
    expect(spec).toEqual({
      command: ['/bin/sh', '-c', 'exec httpd -f'],
      entrypoint: [],
      env: { A: 'one', N: 2, B: true },
      working_dir: '/srv',
      user: '1000:1000',
      hostname: 'web-1',
      ports: [
        { port: 8080, protocol: 'tcp' },
        { port: 53, protocol: 'udp' },
      ],
      restart_policy: { name: 'on-failure', max_retries: 3 },
      healthcheck: { test: ['/bin/true'], interval: 5, retries: 2 },
      labels: { tier: 'web' },
      volumes: [
        { name: 'cache', target: '/cache' },
        { name: 'shared-data', target: '/data', read_only: true },
      ],
    });
    expect(validSpec(spec)).toBe(true);
  });

  it('writes the header line and JSON (which the driver reads as YAML)', () => {
    const text = userData({ image: 'x', environment: { GREETING: 'hi' } });
    expect(text.split('\n')[0]).toBe(SPEC_HEADER);
    expect(parse(text.slice(SPEC_HEADER.length))).toEqual({ env: { GREETING: 'hi' } });
    expect(validSpec(parse(text.slice(SPEC_HEADER.length)))).toBe(true);
  });

  it('leaves defaults out: an image-only container has an empty spec', () => {
    expect(containerSpec({ image: 'x', restart_policy: 'no', environment: {}, labels: {} })).toEqual({});
    expect(restartPolicy('always')).toEqual({ name: 'always' });
    expect(restartPolicy('no')).toBeUndefined();
  });

  it('refuses unknown volumes, two mounts on one path, and oversized specs', () => {
    expect(() => containerSpec({ image: 'x', volumes: [{ volume: 'nope', mount_path: '/d' }] })).toThrow(
      /volume nope not found/,
    );
    expect(() =>
      containerSpec({
        image: 'x',
        volumes: [
          { name: 'a', mount_path: '/d' },
          { name: 'b', mount_path: '/d' },
        ],
      }),
    ).toThrow(/two volumes are mounted at \/d/);
    expect(() => userData({ image: 'x', environment: { BIG: 'x'.repeat(MAX_USER_DATA_BYTES) } })).toThrow(
      /Nova takes at most/,
    );
  });
});
