// Schema migrations, portable DDL for SQLite and PostgreSQL (the one type
// that differs, raw bytes, is picked by dialect). Applied in name order by
// service-kit's openDatabase; never edit a released migration, add one.

import { type Kysely, type Migration, sql } from 'kysely';

import type { Dialect } from '@berth/service-kit';

/** Migration bookkeeping table of the bridge (other services may share the database). */
export const MIGRATION_TABLE = 'oci_migration';

export function registryMigrations(dialect: Dialect): Record<string, Migration> {
  const bytes = dialect === 'postgres' ? sql`bytea` : sql`blob`;
  return {
    '0001_registry': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('oci_projects')
          .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
          .addColumn('name', 'varchar(255)', (c) => c.notNull())
          .addColumn('domain_id', 'varchar(64)')
          .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('oci_projects_name').on('oci_projects').column('name').execute();

        await db.schema
          .createTable('oci_repositories')
          .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
          .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
          .addColumn('name', 'varchar(255)', (c) => c.notNull())
          .addColumn('public', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
          .addUniqueConstraint('oci_repositories_project_name', ['project_id', 'name'])
          .execute();

        await db.schema
          .createTable('oci_blobs')
          .addColumn('digest', 'varchar(150)', (c) => c.primaryKey())
          .addColumn('size', 'bigint', (c) => c.notNull())
          .addColumn('kind', 'varchar(16)', (c) => c.notNull())
          .addColumn('media_type', 'varchar(255)')
          .addColumn('store_ref', 'varchar(255)', (c) => c.notNull())
          .addColumn('content', bytes)
          .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
          .addColumn('last_used_at', 'varchar(32)', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('oci_blobs_store_ref').on('oci_blobs').column('store_ref').execute();

        await db.schema
          .createTable('oci_repo_blobs')
          .addColumn('repository_id', 'varchar(36)', (c) =>
            c.notNull().references('oci_repositories.id').onDelete('cascade'),
          )
          .addColumn('digest', 'varchar(150)', (c) => c.notNull().references('oci_blobs.digest'))
          .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
          .addPrimaryKeyConstraint('oci_repo_blobs_pk', ['repository_id', 'digest'])
          .execute();
        await db.schema.createIndex('oci_repo_blobs_digest').on('oci_repo_blobs').column('digest').execute();

        await db.schema
          .createTable('oci_manifests')
          .addColumn('repository_id', 'varchar(36)', (c) =>
            c.notNull().references('oci_repositories.id').onDelete('cascade'),
          )
          .addColumn('digest', 'varchar(150)', (c) => c.notNull().references('oci_blobs.digest'))
          .addColumn('media_type', 'varchar(255)', (c) => c.notNull())
          .addColumn('size', 'bigint', (c) => c.notNull())
          .addColumn('subject', 'varchar(150)')
          .addColumn('artifact_type', 'varchar(255)')
          .addColumn('annotations', 'text')
          .addColumn('config_media_type', 'varchar(255)')
          .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
          .addPrimaryKeyConstraint('oci_manifests_pk', ['repository_id', 'digest'])
          .execute();
        await db.schema
          .createIndex('oci_manifests_subject')
          .on('oci_manifests')
          .columns(['repository_id', 'subject'])
          .execute();
        await db.schema.createIndex('oci_manifests_digest').on('oci_manifests').column('digest').execute();

        await db.schema
          .createTable('oci_manifest_refs')
          .addColumn('repository_id', 'varchar(36)', (c) =>
            c.notNull().references('oci_repositories.id').onDelete('cascade'),
          )
          .addColumn('manifest_digest', 'varchar(150)', (c) => c.notNull())
          .addColumn('ref_digest', 'varchar(150)', (c) => c.notNull())
          .addPrimaryKeyConstraint('oci_manifest_refs_pk', ['repository_id', 'manifest_digest', 'ref_digest'])
          .execute();
        await db.schema
          .createIndex('oci_manifest_refs_ref')
          .on('oci_manifest_refs')
          .column('ref_digest')
          .execute();

        await db.schema
          .createTable('oci_tags')
          .addColumn('repository_id', 'varchar(36)', (c) =>
            c.notNull().references('oci_repositories.id').onDelete('cascade'),
          )
          .addColumn('name', 'varchar(128)', (c) => c.notNull())
          .addColumn('digest', 'varchar(150)', (c) => c.notNull())
          .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
          .addPrimaryKeyConstraint('oci_tags_pk', ['repository_id', 'name'])
          .execute();

        await db.schema
          .createTable('oci_uploads')
          .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
          .addColumn('repository_id', 'varchar(36)', (c) =>
            c.notNull().references('oci_repositories.id').onDelete('cascade'),
          )
          .addColumn('size', 'bigint', (c) => c.notNull())
          .addColumn('started_at', 'varchar(32)', (c) => c.notNull())
          .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('oci_boot_images')
          .addColumn('image_id', 'varchar(64)', (c) => c.primaryKey())
          .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
          .addColumn('repository_id', 'varchar(36)', (c) =>
            c.notNull().references('oci_repositories.id').onDelete('cascade'),
          )
          .addColumn('tag', 'varchar(128)')
          .addColumn('digest', 'varchar(150)', (c) => c.notNull())
          .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('oci_boot_images_repo')
          .on('oci_boot_images')
          .columns(['repository_id', 'digest'])
          .execute();
      },
    },
    '0002_upload_digest': {
      // a verified upload on its way to the store (see core/uploads.ts)
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('oci_uploads').addColumn('digest', 'varchar(150)').execute();
        await db.schema
          .createIndex('oci_uploads_digest')
          .on('oci_uploads')
          .columns(['repository_id', 'digest'])
          .execute();
      },
    },
  };
}
