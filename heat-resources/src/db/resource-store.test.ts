import { openDatabase } from '@berth/service-kit';

import { MIGRATION_TABLE, migrations } from './migrations';
import { DuplicateKeyError, ResourceStore } from './resource-store';
import type { HeatResourcesTables } from './schema';

async function store() {
  const h = await openDatabase<HeatResourcesTables>('sqlite://', {
    migrations,
    migrationTable: MIGRATION_TABLE,
  });
  return { s: new ResourceStore(h.db), close: () => h.close() };
}

const row = (id: string, key: string | null = null, projectId = 'p1') => ({
  id,
  type: 'T',
  projectId,
  userId: 'u',
  stackId: null,
  resourceName: null,
  idempotencyKey: key,
  action: 'CREATE' as const,
  status: 'IN_PROGRESS' as const,
  statusReason: '',
  properties: { a: 1 },
  state: { s: 'x' },
});

describe('ResourceStore', () => {
  it('scopes every read to a project and a type', async () => {
    const { s, close } = await store();
    await s.insert(row('r1'));
    expect(await s.get('p1', 'T', 'r1')).toMatchObject({
      id: 'r1',
      properties: { a: 1 },
      state: { s: 'x' },
      version: 1,
    });
    expect(await s.get('p2', 'T', 'r1')).toBeUndefined();
    expect(await s.get('p1', 'U', 'r1')).toBeUndefined();
    expect(await s.list('p2', 'T')).toEqual([]);
    await close();
  });

  it('keeps idempotency keys unique per project and type', async () => {
    const { s, close } = await store();
    await s.insert(row('r1', 'k'));
    await expect(s.insert(row('r2', 'k'))).rejects.toBeInstanceOf(DuplicateKeyError);
    await s.insert(row('r3', 'k', 'p2'));
    await s.insert(row('r4'));
    await s.insert(row('r5'));
    expect((await s.findByKey('p1', 'T', 'k'))?.id).toBe('r1');
    await close();
  });

  it('updates compare-and-set: a stale writer gets the newer row back, unchanged', async () => {
    const { s, close } = await store();
    const r = await s.insert(row('r1'));
    const newer = await s.update(r, { status: 'COMPLETE' });
    expect(newer).toMatchObject({ status: 'COMPLETE', version: 2 });
    const stale = await s.update(r, { status: 'FAILED', statusReason: 'late' });
    expect(stale).toMatchObject({ status: 'COMPLETE', version: 2 });
    await s.delete('r1');
    expect(await s.update(newer!, { status: 'FAILED' })).toBeUndefined();
    await close();
  });
});
