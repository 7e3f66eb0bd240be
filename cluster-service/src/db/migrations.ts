// Schema migrations, as code, for SQLite and PostgreSQL alike. Only portable
// DDL: the one difference is how an auto-increment key is spelled.

import type { ColumnDefinitionBuilder, Kysely, Migration } from 'kysely';
import type { Dialect } from '@berth/service-kit';

type Col = (c: ColumnDefinitionBuilder) => ColumnDefinitionBuilder;
const notNull: Col = (c) => c.notNull();

export function migrations(dialect: Dialect): Record<string, Migration> {
  // SQLite: INTEGER PRIMARY KEY AUTOINCREMENT; PostgreSQL: serial
  const serialType = dialect === 'postgres' ? 'serial' : 'integer';
  const serial: Col = (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement());

  return {
    '0001_initial': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('cluster_templates')
          .addColumn('id', serialType, serial)
          .addColumn('uuid', 'varchar(36)', (c) => c.notNull().unique())
          .addColumn('project_id', 'varchar(255)')
          .addColumn('user_id', 'varchar(255)')
          .addColumn('name', 'varchar(255)', notNull)
          .addColumn('image_id', 'varchar(255)', notNull)
          .addColumn('flavor_id', 'varchar(255)')
          .addColumn('master_flavor_id', 'varchar(255)')
          .addColumn('keypair_id', 'varchar(255)')
          .addColumn('external_network_id', 'varchar(255)')
          .addColumn('fixed_network', 'varchar(255)')
          .addColumn('fixed_subnet', 'varchar(255)')
          .addColumn('network_driver', 'varchar(255)')
          .addColumn('volume_driver', 'varchar(255)')
          .addColumn('dns_nameserver', 'varchar(255)')
          .addColumn('apiserver_port', 'integer')
          .addColumn('docker_volume_size', 'integer')
          .addColumn('docker_storage_driver', 'varchar(255)')
          .addColumn('cluster_distro', 'varchar(255)')
          .addColumn('coe', 'varchar(255)', notNull)
          .addColumn('http_proxy', 'varchar(255)')
          .addColumn('https_proxy', 'varchar(255)')
          .addColumn('no_proxy', 'varchar(255)')
          .addColumn('registry_enabled', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('labels', 'text', (c) => c.notNull().defaultTo('{}'))
          .addColumn('tls_disabled', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('public', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('server_type', 'varchar(255)', (c) => c.notNull().defaultTo('vm'))
          .addColumn('insecure_registry', 'varchar(255)')
          .addColumn('master_lb_enabled', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('floating_ip_enabled', 'integer', (c) => c.notNull().defaultTo(1))
          .addColumn('hidden', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('tags', 'varchar(255)')
          .addColumn('created_at', 'varchar(40)', notNull)
          .addColumn('updated_at', 'varchar(40)')
          .execute();
        await db.schema
          .createIndex('ix_cluster_templates_project')
          .on('cluster_templates')
          .column('project_id')
          .execute();
        await db.schema
          .createIndex('ix_cluster_templates_name')
          .on('cluster_templates')
          .column('name')
          .execute();

        await db.schema
          .createTable('clusters')
          .addColumn('id', serialType, serial)
          .addColumn('uuid', 'varchar(36)', (c) => c.notNull().unique())
          .addColumn('project_id', 'varchar(255)', notNull)
          .addColumn('user_id', 'varchar(255)', notNull)
          .addColumn('name', 'varchar(255)', notNull)
          .addColumn('cluster_template_id', 'varchar(36)', notNull)
          .addColumn('keypair', 'varchar(255)')
          .addColumn('docker_volume_size', 'integer')
          .addColumn('labels', 'text', (c) => c.notNull().defaultTo('{}'))
          .addColumn('master_flavor_id', 'varchar(255)')
          .addColumn('flavor_id', 'varchar(255)')
          .addColumn('stack_id', 'varchar(255)')
          .addColumn('api_address', 'varchar(255)')
          .addColumn('status', 'varchar(20)', notNull)
          .addColumn('status_reason', 'text')
          .addColumn('health_status', 'varchar(20)')
          .addColumn('health_status_reason', 'text')
          .addColumn('create_timeout', 'integer', notNull)
          .addColumn('discovery_url', 'varchar(255)')
          .addColumn('coe_version', 'varchar(255)')
          .addColumn('container_version', 'varchar(255)')
          .addColumn('fixed_network', 'varchar(255)')
          .addColumn('fixed_subnet', 'varchar(255)')
          .addColumn('floating_ip_enabled', 'integer', (c) => c.notNull().defaultTo(1))
          .addColumn('master_lb_enabled', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('driver', 'varchar(64)', notNull)
          .addColumn('trust_id', 'varchar(64)')
          .addColumn('node_secret_enc', 'text', notNull)
          .addColumn('driver_state', 'text', (c) => c.notNull().defaultTo('{}'))
          .addColumn('created_at', 'varchar(40)', notNull)
          .addColumn('updated_at', 'varchar(40)')
          .execute();
        await db.schema.createIndex('ix_clusters_project').on('clusters').column('project_id').execute();
        await db.schema
          .createIndex('ix_clusters_template')
          .on('clusters')
          .column('cluster_template_id')
          .execute();
        await db.schema.createIndex('ix_clusters_name').on('clusters').column('name').execute();

        await db.schema
          .createTable('nodegroups')
          .addColumn('id', serialType, serial)
          .addColumn('uuid', 'varchar(36)', (c) => c.notNull().unique())
          .addColumn('name', 'varchar(255)', notNull)
          .addColumn('cluster_id', 'varchar(36)', notNull)
          .addColumn('project_id', 'varchar(255)', notNull)
          .addColumn('docker_volume_size', 'integer')
          .addColumn('labels', 'text', (c) => c.notNull().defaultTo('{}'))
          .addColumn('flavor_id', 'varchar(255)')
          .addColumn('image_id', 'varchar(255)')
          .addColumn('node_addresses', 'text', (c) => c.notNull().defaultTo('[]'))
          .addColumn('node_count', 'integer', notNull)
          .addColumn('role', 'varchar(255)', notNull)
          .addColumn('max_node_count', 'integer')
          .addColumn('min_node_count', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('is_default', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('stack_id', 'varchar(255)')
          .addColumn('status', 'varchar(20)')
          .addColumn('status_reason', 'text')
          .addColumn('version', 'varchar(20)')
          .addColumn('created_at', 'varchar(40)', notNull)
          .addColumn('updated_at', 'varchar(40)')
          .addUniqueConstraint('uq_nodegroups_cluster_name', ['cluster_id', 'name'])
          .execute();

        await db.schema
          .createTable('nodes')
          .addColumn('uuid', 'varchar(36)', (c) => c.primaryKey())
          .addColumn('cluster_id', 'varchar(36)', notNull)
          .addColumn('nodegroup_id', 'varchar(36)', notNull)
          .addColumn('role', 'varchar(32)', notNull)
          .addColumn('idx', 'integer', notNull)
          .addColumn('name', 'varchar(255)', notNull)
          .addColumn('server_id', 'varchar(64)')
          .addColumn('state', 'varchar(20)', notNull)
          .addColumn('address', 'varchar(255)')
          .addColumn('status_reason', 'text')
          .addColumn('reported_at', 'double precision')
          .addColumn('info', 'text', (c) => c.notNull().defaultTo('{}'))
          .addColumn('created_at', 'varchar(40)', notNull)
          .addColumn('updated_at', 'varchar(40)')
          .execute();
        await db.schema.createIndex('ix_nodes_cluster').on('nodes').column('cluster_id').execute();

        await db.schema
          .createTable('jobs')
          .addColumn('uuid', 'varchar(36)', (c) => c.primaryKey())
          .addColumn('cluster_id', 'varchar(36)', notNull)
          .addColumn('action', 'varchar(20)', notNull)
          .addColumn('state', 'varchar(20)', notNull)
          .addColumn('params', 'text', (c) => c.notNull().defaultTo('{}'))
          .addColumn('step', 'text')
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('lease_owner', 'varchar(255)')
          .addColumn('lease_until', 'double precision')
          .addColumn('deadline', 'double precision')
          .addColumn('error', 'text')
          .addColumn('created_at', 'varchar(40)', notNull)
          .addColumn('updated_at', 'varchar(40)')
          .addColumn('finished_at', 'varchar(40)')
          .execute();
        await db.schema.createIndex('ix_jobs_state').on('jobs').column('state').execute();
        await db.schema.createIndex('ix_jobs_cluster').on('jobs').column('cluster_id').execute();

        await db.schema
          .createTable('quotas')
          .addColumn('id', serialType, serial)
          .addColumn('project_id', 'varchar(255)', notNull)
          .addColumn('resource', 'varchar(255)', notNull)
          .addColumn('hard_limit', 'integer', notNull)
          .addColumn('created_at', 'varchar(40)', notNull)
          .addColumn('updated_at', 'varchar(40)')
          .addUniqueConstraint('uq_quotas_project_resource', ['project_id', 'resource'])
          .execute();

        await db.schema
          .createTable('cluster_cas')
          .addColumn('cluster_id', 'varchar(36)', notNull)
          .addColumn('ca_type', 'varchar(32)', notNull)
          .addColumn('cert_pem', 'text', notNull)
          .addColumn('key_enc', 'text', notNull)
          .addColumn('created_at', 'varchar(40)', notNull)
          .addPrimaryKeyConstraint('pk_cluster_cas', ['cluster_id', 'ca_type'])
          .execute();

        await db.schema
          .createTable('services')
          .addColumn('id', serialType, serial)
          .addColumn('host', 'varchar(255)', notNull)
          .addColumn('binary', 'varchar(255)', notNull)
          .addColumn('report_count', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('disabled_reason', 'varchar(255)')
          .addColumn('last_seen_up', 'double precision')
          .addColumn('created_at', 'varchar(40)', notNull)
          .addColumn('updated_at', 'varchar(40)')
          .addUniqueConstraint('uq_services_host_binary', ['host', 'binary'])
          .execute();
      },
    },
  };
}
