import { TtlCache } from './ttl-cache';

describe('TtlCache', () => {
  let now = 0;
  const clock = () => now;
  beforeEach(() => (now = 1_000));

  it('expires entries after their own TTL', () => {
    const c = new TtlCache<string>(10, clock);
    c.set('a', 'A', 100);
    c.set('b', 'B', 200);
    now += 100;
    expect([c.get('a'), c.get('b')]).toEqual([undefined, 'B']);
    now += 100;
    expect(c.get('b')).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('evicts the least recently used entry beyond maxEntries', () => {
    const c = new TtlCache<number>(2, clock);
    c.set('a', 1, 1_000);
    c.set('b', 2, 1_000);
    c.get('a'); // a is now the most recent
    c.set('c', 3, 1_000);
    expect([c.get('a'), c.get('b'), c.get('c')]).toEqual([1, undefined, 3]);
  });

  it('does not store entries with a TTL of zero or less, and supports delete/clear', () => {
    const c = new TtlCache<number>(2, clock);
    c.set('a', 1, 0);
    expect(c.get('a')).toBeUndefined();
    c.set('b', 2, 10);
    expect(c.delete('b')).toBe(true);
    c.set('c', 3, 10);
    c.clear();
    expect(c.size).toBe(0);
    expect(() => new TtlCache(0)).toThrow(RangeError);
  });
});
