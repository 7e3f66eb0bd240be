// Schema migrations, as code (portable DDL: SQLite and PostgreSQL).

import { type Kysely, type Migration, sql } from 'kysely';

export const MIGRATION_TABLE = 'heat_resources_migration';

export const migrations: Record<string, Migration> = {
  '0001_resources': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('heat_resources')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('type', 'varchar(64)', (c) => c.notNull())
        .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('stack_id', 'varchar(64)')
        .addColumn('resource_name', 'varchar(255)')
        .addColumn('idempotency_key', 'varchar(255)')
        .addColumn('action', 'varchar(16)', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('status_reason', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('properties', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
        .execute();
      await db.schema
        .createIndex('heat_resources_idempotency')
        .on('heat_resources')
        .columns(['project_id', 'type', 'idempotency_key'])
        .unique()
        .execute();
      await db.schema
        .createIndex('heat_resources_project')
        .on('heat_resources')
        .columns(['project_id', 'type'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await sql`drop table heat_resources`.execute(db);
    },
  },
};
