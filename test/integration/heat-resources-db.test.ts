// heat-resources' SQL layer on both backends: embedded SQLite (a file) and
// the all-in-one's PostgreSQL (`berth-aio up postgres`), in a schema of its
// own that is dropped afterwards. Same migrations, same statements: project
// scoping, the idempotency key's uniqueness and compare-and-set updates.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { openDatabase } from '@berth/service-kit';
import { Client } from 'pg';

import { MIGRATION_TABLE, migrations } from '../../heat-resources/src/db/migrations';
import { DuplicateKeyError, ResourceStore } from '../../heat-resources/src/db/resource-store';
import type { HeatResourcesTables } from '../../heat-resources/src/db/schema';
import { testEnv } from '../support/env';

jest.setTimeout(60_000);

const schema = `heat_resources_it_${randomBytes(4).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'berth-hr-db-'));

async function pg(sql: string): Promise<void> {
  const c = new Client({ connectionString: testEnv.postgresUrl });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

beforeAll(() => pg(`CREATE SCHEMA ${schema}`));
afterAll(async () => {
  await pg(`DROP SCHEMA ${schema} CASCADE`);
  rmSync(dir, { recursive: true, force: true });
});

const row = (id: string, key: string | null, projectId = 'p1') => ({
  id,
  type: 'OS::Container::Container',
  projectId,
  userId: 'u1',
  stackId: 's1',
  resourceName: 'web',
  idempotencyKey: key,
  action: 'CREATE' as const,
  status: 'IN_PROGRESS' as const,
  statusReason: 'Nova: BUILD',
  properties: { image: 'busybox', environment: { A: 'ü' } },
  state: { flavor: { id: 'f1' } },
});

describe.each([
  ['SQLite', () => `sqlite:///${join(dir, 'hr.db')}`],
  ['PostgreSQL', () => `${testEnv.postgresUrl}?options=-csearch_path%3D${schema}`],
])('the resource store on %s', (_name, url) => {
  it('migrates, scopes reads to the project, keeps keys unique and updates compare-and-set', async () => {
    const h = await openDatabase<HeatResourcesTables>(url(), { migrations, migrationTable: MIGRATION_TABLE });
    try {
      const s = new ResourceStore(h.db);
      const r = await s.insert(row('r1', 'stack-web-1'));
      await s.insert(row('r2', null));
      await s.insert(row('r3', null));
      await expect(s.insert(row('r4', 'stack-web-1'))).rejects.toBeInstanceOf(DuplicateKeyError);
      await s.insert(row('r5', 'stack-web-1', 'p2'));
      expect(await s.get('p1', 'OS::Container::Container', 'r1')).toMatchObject({
        properties: { environment: { A: 'ü' } },
        state: { flavor: { id: 'f1' } },
      });
      expect(await s.get('p2', 'OS::Container::Container', 'r1')).toBeUndefined();
      expect((await s.list('p1', 'OS::Container::Container')).map((x) => x.id).sort()).toEqual([
        'r1',
        'r2',
        'r3',
      ]);
      expect((await s.findByKey('p2', 'OS::Container::Container', 'stack-web-1'))?.id).toBe('r5');
      const done = await s.update(r, { status: 'COMPLETE', statusReason: '' });
      expect(done).toMatchObject({ status: 'COMPLETE', version: 2 });
      expect(await s.update(r, { status: 'FAILED' })).toMatchObject({ status: 'COMPLETE', version: 2 });
      await s.delete('r1');
      expect(await s.get('p1', 'OS::Container::Container', 'r1')).toBeUndefined();
      await s.ping();
    } finally {
      await h.close();
    }
  });
});
