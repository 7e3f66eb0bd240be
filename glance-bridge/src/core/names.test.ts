import { parseDigest, parseReference, parseRepositoryName, requireDigest } from './names';
import { RegistryError } from './errors';

describe('repository names', () => {
  it.each(['demo/app', 'demo/team/web-app', 'p1/a.b_c__d---e', `${'a'.repeat(32)}/x`])('accepts %s', (n) => {
    const r = parseRepositoryName(n);
    expect(`${r.project}/${r.repo}`).toBe(n);
  });

  it('splits the project from the repository', () => {
    expect(parseRepositoryName('demo/team/web')).toEqual({
      full: 'demo/team/web',
      project: 'demo',
      repo: 'team/web',
    });
  });

  it.each([
    'Demo/app',
    'app',
    'demo//app',
    'demo/app/',
    '-demo/app',
    'demo/a..b',
    `demo/${'x'.repeat(240)}`,
    'demo/a_-b',
  ])('refuses %s with NAME_INVALID', (n) => {
    expect(() => parseRepositoryName(n)).toThrow(RegistryError);
    try {
      parseRepositoryName(n);
    } catch (e) {
      expect((e as RegistryError).code).toBe('NAME_INVALID');
      expect((e as RegistryError).status).toBe(400);
    }
  });
});

describe('digests and references', () => {
  const hex = 'a'.repeat(64);
  it('parses sha256 and sha512 only, lowercase hex of the right length', () => {
    expect(parseDigest(`sha256:${hex}`)?.algorithm).toBe('sha256');
    expect(parseDigest(`sha512:${'b'.repeat(128)}`)?.algorithm).toBe('sha512');
    expect(parseDigest(`sha256:${hex.toUpperCase()}`)).toBeUndefined();
    expect(parseDigest(`sha256:${hex.slice(1)}`)).toBeUndefined();
    expect(parseDigest(`md5:${'c'.repeat(32)}`)).toBeUndefined();
  });

  it('says why a digest is refused', () => {
    expect(() => requireDigest(undefined)).toThrow('digest missing');
    expect(() => requireDigest(`md5:${'c'.repeat(32)}`)).toThrow(/unsupported digest algorithm/);
    expect(() => requireDigest('sha256:')).toThrow(/invalid digest/);
  });

  it('tells tags from digests', () => {
    expect(parseReference('v1.0')).toEqual({ kind: 'tag', tag: 'v1.0' });
    expect(parseReference(`sha256:${hex}`).kind).toBe('digest');
    expect(parseReference('-bad').kind).toBe('invalid');
    expect(parseReference('x'.repeat(129)).kind).toBe('invalid');
    expect(parseReference('sha256:nothex').kind).toBe('invalid');
  });
});
