import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

import Database from 'better-sqlite3';
import { Kysely, Migration, MigrationProvider, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import { Pool } from 'pg';

import type { Logger } from '../log/logger';

export type Dialect = 'sqlite' | 'postgres';

export interface ServiceDatabase<DB> {
  db: Kysely<DB>;
  dialect: Dialect;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** migrations by name; applied in name order, so prefix them 0001_, 0002_... */
  migrations: Record<string, Migration>;
  logger?: Logger;
  /** connection pool size for PostgreSQL */
  poolSize?: number;
  /**
   * the migration bookkeeping table (default kysely_migration): services
   * sharing one PostgreSQL database each need their own
   */
  migrationTable?: string;
}

/**
 * Opens the service's SQL database from an oslo-style [database] connection
 * URL and brings its schema up to date. One query layer (Kysely) for both:
 * embedded SQLite by default (`sqlite:////var/lib/berth/x.db`, or
 * `sqlite://` for memory), PostgreSQL for multi-node deployments
 * (`postgresql://user:pass@host/db`). Migrations are the same code for both,
 * so they stick to portable DDL.
 */
export async function openDatabase<DB>(url: string, o: OpenOptions): Promise<ServiceDatabase<DB>> {
  const { dialect, kysely } = connect<DB>(url, o.poolSize ?? 10);
  const migrator = new Migrator({
    db: kysely,
    provider: new StaticMigrations(o.migrations),
    ...(o.migrationTable
      ? { migrationTableName: o.migrationTable, migrationLockTableName: `${o.migrationTable}_lock` }
      : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  for (const r of results ?? []) {
    o.logger?.info({ migration: r.migrationName, status: r.status }, 'database migration');
  }
  if (error) {
    await kysely.destroy();
    throw new Error(`database migration failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { db: kysely, dialect, close: () => kysely.destroy() };
}

function connect<DB>(url: string, poolSize: number): { dialect: Dialect; kysely: Kysely<DB> } {
  const sqlite = /^sqlite:\/\/(\/.*)?$/.exec(url);
  if (sqlite) {
    // as SQLAlchemy: sqlite:////abs/path.db, sqlite:///relative.db, sqlite:// = memory
    const path = sqlite[1] && sqlite[1].length > 1 ? sqlite[1].slice(1) : ':memory:';
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const database = new Database(path);
    // WAL: readers never block the writer; busy_timeout: wait for the lock
    // instead of failing with "database is locked" when two processes write
    database.pragma('journal_mode = WAL');
    database.pragma('busy_timeout = 5000');
    database.pragma('foreign_keys = ON');
    return { dialect: 'sqlite', kysely: new Kysely<DB>({ dialect: new SqliteDialect({ database }) }) };
  }
  if (/^postgres(ql)?(\+\w+)?:\/\//.test(url)) {
    const connectionString = url.replace(/^postgres(ql)?\+\w+:/, 'postgresql:');
    const pool = new Pool({ connectionString, max: poolSize });
    return { dialect: 'postgres', kysely: new Kysely<DB>({ dialect: new PostgresDialect({ pool }) }) };
  }
  throw new Error(
    `unsupported [database] connection "${redactUrl(url)}": use sqlite:///path or postgresql://...`,
  );
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

class StaticMigrations implements MigrationProvider {
  constructor(private readonly migrations: Record<string, Migration>) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return this.migrations;
  }
}
