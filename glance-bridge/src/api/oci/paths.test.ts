import { parseRange } from './blobs';
import { matchOciPath } from './paths';
import { parseContentRange } from './uploads';

describe('matchOciPath', () => {
  const d = `sha256:${'a'.repeat(64)}`;
  it.each([
    ['', { area: 'base' }],
    ['_catalog', { area: 'catalog' }],
    ['p/app/blobs/uploads/', { area: 'uploads', name: 'p/app' }],
    ['p/app/blobs/uploads', { area: 'uploads', name: 'p/app' }],
    ['p/app/blobs/uploads/abc-1', { area: 'upload', name: 'p/app', arg: 'abc-1' }],
    [`p/a/b/blobs/${d}`, { area: 'blob', name: 'p/a/b', arg: d }],
    [`p/app/blobs/${d.replace(':', '%3A')}`, { area: 'blob', name: 'p/app', arg: d }],
    ['p/blobs/manifests/v1', { area: 'manifest', name: 'p/blobs', arg: 'v1' }],
    ['p/app/tags/list', { area: 'tags', name: 'p/app' }],
    [`p/app/referrers/${d}`, { area: 'referrers', name: 'p/app', arg: d }],
  ])('/v2/%s', (rest, want) => {
    expect(matchOciPath(rest)).toEqual(want);
  });

  it('matches nothing else', () => {
    expect(matchOciPath('p/app')).toBeUndefined();
    expect(matchOciPath('p/app/manifests/')).toBeUndefined();
  });
});

describe('range headers', () => {
  it('parses single byte ranges against a size', () => {
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=50-500', 100)).toEqual({ start: 50, end: 99 });
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=-0', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-1,5-6', 100)).toBeUndefined();
    expect(parseRange(undefined, 100)).toBeUndefined();
  });

  it('parses Content-Range as the spec writes it, tolerating the HTTP form', () => {
    expect(parseContentRange('0-99')).toEqual({ start: 0, end: 99 });
    expect(parseContentRange('bytes 100-199/*')).toEqual({ start: 100, end: 199 });
    expect(parseContentRange(undefined)).toBeUndefined();
    expect(() => parseContentRange('nonsense')).toThrow(/malformed Content-Range/);
  });
});
