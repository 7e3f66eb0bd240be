import {
  ContainerSpecError,
  durationNs,
  parseContainerSpec,
  shellSplit,
  specFromUserData,
} from './container-spec';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('container spec from user data', () => {
  it('ignores absent and non-spec user data (plain cloud-init is not ours)', () => {
    expect(specFromUserData(null).env).toEqual({});
    expect(specFromUserData(b64('#cloud-config\npackages: [nginx]\n')).command).toBeUndefined();
    expect(specFromUserData(b64('#!/bin/sh\necho hi\n')).ports).toEqual([]);
  });

  it('reads YAML after the header', () => {
    const s = specFromUserData(
      b64(
        [
          '#container-spec',
          'command: httpd -f -p "8080"',
          'env: {GREETING: hello, N: 3}',
          'ports: [8080, "53/udp", {port: 9000, protocol: sctp}]',
          'working_dir: /srv',
          'restart_policy: {name: on-failure, max_retries: 3}',
          'healthcheck: {test: "wget -q -O- localhost:8080", interval: 1m30s, retries: 2}',
          'volumes: [{name: data, target: /data}]',
        ].join('\n'),
      ),
    );
    expect(s.command).toEqual(['httpd', '-f', '-p', '8080']);
    expect(s.env).toEqual({ GREETING: 'hello', N: '3' });
    expect(s.ports).toEqual([
      { port: 8080, protocol: 'tcp' },
      { port: 53, protocol: 'udp' },
      { port: 9000, protocol: 'sctp' },
    ]);
    expect(s.workingDir).toBe('/srv');
    expect(s.restartPolicy).toEqual({ name: 'on-failure', maxRetries: 3 });
    expect(s.healthcheck).toEqual({
      test: ['CMD-SHELL', 'wget -q -O- localhost:8080'],
      intervalNs: 90e9,
      retries: 2,
    });
    expect(s.volumes).toEqual([{ name: 'data', target: '/data', readOnly: false }]);
  });

  it('reads JSON too, and an env list', () => {
    const s = specFromUserData(
      b64('#container-spec\n{"command": ["sleep", "9"], "env": ["A=1=2"], "cap_add": ["CAP_NET_ADMIN"]}'),
    );
    expect(s.command).toEqual(['sleep', '9']);
    expect(s.env).toEqual({ A: '1=2' });
    expect(s.capAdd).toEqual(['NET_ADMIN']);
  });

  it.each([
    ['unknown fields', 'colour: blue', 'unknown field "colour"'],
    ['wrong types', 'ports: [http]', 'ports.0'],
    ['a bad restart policy', 'restart_policy: sometimes', 'restart_policy: must be one of'],
    ['a relative working dir', 'working_dir: srv', 'working_dir'],
    ['a volume without source', 'volumes: [{target: /x}]', 'volumes.0'],
    ['broken YAML', 'env: {a: [', 'not valid YAML or JSON'],
  ])('rejects %s with a message saying where', (_what, body, message) => {
    expect(() => parseContainerSpec(body)).toThrow(ContainerSpecError);
    expect(() => parseContainerSpec(body)).toThrow(message);
  });

  it('accepts an empty spec', () => {
    expect(parseContainerSpec('\n').restartPolicy).toEqual({ name: 'no' });
  });
});

describe('shellSplit', () => {
  it('splits like a shell without expanding', () => {
    expect(shellSplit(`sh -c 'echo "$HOME" done'`)).toEqual(['sh', '-c', 'echo "$HOME" done']);
    expect(shellSplit('a\\ b "c d" e""')).toEqual(['a b', 'c d', 'e']);
    expect(() => shellSplit('echo "open')).toThrow('unterminated');
  });
});

describe('durationNs', () => {
  it('reads seconds and Go-style strings', () => {
    expect(durationNs(2, 'x')).toBe(2e9);
    expect(durationNs('1h2m3s', 'x')).toBe(3723e9);
    expect(durationNs('250ms', 'x')).toBe(250e6);
  });
});
