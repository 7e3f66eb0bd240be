import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Kysely, sql } from 'kysely';

import { openDatabase, redactUrl } from './database';

interface DB {
  items: { id: string; n: number };
}

const migrations = {
  '0001_items': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('items')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('n', 'integer', (c) => c.notNull())
        .execute();
    },
  },
};

describe('openDatabase (SQLite)', () => {
  it('migrates once and keeps data across reopen', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'db-')), 'x.db');
    const url = `sqlite:///${file}`;
    const a = await openDatabase<DB>(url, { migrations });
    expect(a.dialect).toBe('sqlite');
    await a.db.insertInto('items').values({ id: 'a', n: 1 }).execute();
    await a.close();
    const b = await openDatabase<DB>(url, { migrations });
    expect(await b.db.selectFrom('items').selectAll().execute()).toEqual([{ id: 'a', n: 1 }]);
    const mode = await sql<{ journal_mode: string }>`PRAGMA journal_mode`.execute(b.db);
    expect(mode.rows[0]?.journal_mode).toBe('wal');
    await b.close();
  });

  it('keeps its migration bookkeeping in the table it is given (services sharing a database)', async () => {
    const m = await openDatabase<DB>('sqlite://', { migrations, migrationTable: 'svc_migration' });
    const tables = await sql<{
      name: string;
    }>`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`.execute(m.db);
    const names = tables.rows.map((r) => r.name);
    expect(names).toEqual(expect.arrayContaining(['items', 'svc_migration', 'svc_migration_lock']));
    expect(names).not.toContain('kysely_migration');
    await m.close();
  });

  it('supports an in-memory database', async () => {
    const m = await openDatabase<DB>('sqlite://', { migrations });
    await m.db.insertInto('items').values({ id: 'x', n: 2 }).execute();
    expect(await m.db.selectFrom('items').select('n').executeTakeFirst()).toEqual({ n: 2 });
    await m.close();
  });

  it('refuses an unknown URL without printing its password', async () => {
    await expect(openDatabase('mysql://u:hunter2@h/db', { migrations })).rejects.toThrow(
      'mysql://u:***@h/db',
    );
    expect(redactUrl('postgresql://berth:pw@127.0.0.1/berth')).toBe('postgresql://berth:***@127.0.0.1/berth');
  });

  it('fails clearly when a migration fails', async () => {
    const bad = { '0001_bad': { up: async () => Promise.reject(new Error('nope')) } };
    await expect(openDatabase('sqlite://', { migrations: bad })).rejects.toThrow(
      'database migration failed: nope',
    );
  });
});
