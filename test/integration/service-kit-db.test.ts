// The SQL layer against both of its backends: embedded SQLite and a real
// PostgreSQL (Debian's, started by `berth-aio up postgres`).
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';

import { Kysely, sql } from 'kysely';
import { Client } from 'pg';
import { openDatabase } from '@berth/service-kit';

import { testEnv } from '../support/env';

interface DB {
  widgets: { id: string; name: string; size: number; created_at: string };
}

const table = `widgets`;
const migrations = {
  '0001_widgets': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable(table)
        .ifNotExists()
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(255)', (c) => c.notNull().unique())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .execute();
    },
  },
};

describe.each([
  ['sqlite', () => `sqlite:///${tmpdir()}/berth-kit-${randomUUID()}.db`],
  ['postgres', () => testEnv.postgresUrl],
])('SQL layer on %s', (dialect, url) => {
  let handle: Awaited<ReturnType<typeof openDatabase<DB>>>;
  let dbUrl: string;

  beforeAll(async () => {
    dbUrl = url();
    if (dialect === 'postgres') {
      // a clean slate: drop what a previous run left (tables and migration bookkeeping)
      const pg = new Client({ connectionString: dbUrl });
      await pg.connect();
      await pg.query('DROP TABLE IF EXISTS widgets, kysely_migration, kysely_migration_lock');
      await pg.end();
    }
    handle = await openDatabase<DB>(dbUrl, { migrations });
  });
  afterAll(async () => handle?.close());

  it('reports its dialect', () => {
    expect(handle.dialect).toBe(dialect);
  });

  it('round-trips rows and enforces unique constraints', async () => {
    const now = new Date().toISOString();
    await handle.db
      .insertInto('widgets')
      .values({ id: randomUUID(), name: 'a', size: 1, created_at: now })
      .execute();
    await expect(
      handle.db
        .insertInto('widgets')
        .values({ id: randomUUID(), name: 'a', size: 2, created_at: now })
        .execute(),
    ).rejects.toThrow(/unique|UNIQUE/);
    const rows = await handle.db.selectFrom('widgets').select(['name', 'size']).execute();
    expect(rows.map((r) => ({ ...r, size: Number(r.size) }))).toEqual([{ name: 'a', size: 1 }]);
  });

  it('rolls back a failed transaction as a whole', async () => {
    const now = new Date().toISOString();
    await expect(
      handle.db.transaction().execute(async (tx) => {
        await tx
          .insertInto('widgets')
          .values({ id: randomUUID(), name: 'b', size: 1, created_at: now })
          .execute();
        await tx
          .insertInto('widgets')
          .values({ id: randomUUID(), name: 'b', size: 1, created_at: now })
          .execute();
      }),
    ).rejects.toThrow();
    const b = await handle.db.selectFrom('widgets').selectAll().where('name', '=', 'b').execute();
    expect(b).toHaveLength(0);
  });

  it('does not re-run applied migrations when reopened', async () => {
    const again = await openDatabase<DB>(dbUrl, { migrations });
    const applied = await sql<{ name: string }>`SELECT name FROM kysely_migration`.execute(again.db);
    expect(applied.rows.map((r) => r.name)).toEqual(['0001_widgets']);
    await again.close();
  });
});
