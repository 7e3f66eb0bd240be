// Cluster templates: a project's own, plus public ones for everybody; admins
// see all (magnum/db/sqlalchemy/api.py get_cluster_template_*).

import { sql, type Insertable, type Selectable, type Updateable } from 'kysely';

import { paginate, type Page } from './paging';
import type { ClusterTemplateTable, Db } from './schema';
import type { Scope } from './util';

export type TemplateRow = Selectable<ClusterTemplateTable>;

export const TEMPLATE_COLUMNS = new Set([
  'id',
  'uuid',
  'project_id',
  'user_id',
  'name',
  'image_id',
  'flavor_id',
  'master_flavor_id',
  'keypair_id',
  'external_network_id',
  'fixed_network',
  'fixed_subnet',
  'network_driver',
  'volume_driver',
  'dns_nameserver',
  'apiserver_port',
  'docker_volume_size',
  'docker_storage_driver',
  'cluster_distro',
  'coe',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'registry_enabled',
  'labels',
  'tls_disabled',
  'public',
  'server_type',
  'insecure_registry',
  'master_lb_enabled',
  'floating_ip_enabled',
  'hidden',
  'tags',
  'created_at',
  'updated_at',
]);

export class TemplateRepo {
  constructor(private readonly db: Db) {}

  /** What a single-template lookup may see: own project, or any public template. */
  private visibleOne(scope: Scope) {
    let q = this.db.selectFrom('cluster_templates').selectAll();
    if (!scope.isAdmin) {
      q = q.where((eb) => eb.or([eb('project_id', '=', scope.projectId ?? ''), eb('public', '=', 1)]));
    }
    return q;
  }

  async byUuid(scope: Scope, uuid: string): Promise<TemplateRow | undefined> {
    return this.visibleOne(scope).where('uuid', '=', uuid).executeTakeFirst();
  }

  async byName(scope: Scope, name: string): Promise<TemplateRow[]> {
    return this.visibleOne(scope).where('name', '=', name).limit(2).execute();
  }

  /** Lists: own project, public and not hidden; admins see all. */
  async list(scope: Scope, page: Page): Promise<TemplateRow[]> {
    let q = this.db.selectFrom('cluster_templates').selectAll();
    if (!scope.isAdmin) {
      q = q.where((eb) =>
        eb.or([
          eb('project_id', '=', scope.projectId ?? ''),
          eb.and([eb('public', '=', 1), eb('hidden', '=', 0)]),
        ]),
      );
    }
    return paginate(q, page, 'cluster_templates').execute();
  }

  async insert(row: Insertable<ClusterTemplateTable>): Promise<TemplateRow> {
    await this.db.insertInto('cluster_templates').values(row).execute();
    return (await this.db
      .selectFrom('cluster_templates')
      .selectAll()
      .where('uuid', '=', row.uuid)
      .executeTakeFirst())!;
  }

  async update(id: number, values: Updateable<ClusterTemplateTable>): Promise<void> {
    await this.db.updateTable('cluster_templates').set(values).where('id', '=', id).execute();
  }

  /** Deletes unless a cluster uses it; false when one does. Atomic. */
  async deleteUnlessReferenced(row: TemplateRow): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const used = await tx
        .selectFrom('clusters')
        .select(sql<number>`count(*)`.as('n'))
        .where('cluster_template_id', '=', row.uuid)
        .executeTakeFirst();
      if (Number(used?.n ?? 0) > 0) return false;
      await tx.deleteFrom('cluster_templates').where('id', '=', row.id).execute();
      return true;
    });
  }

  async isReferenced(uuid: string): Promise<boolean> {
    const r = await this.db
      .selectFrom('clusters')
      .select('id')
      .where('cluster_template_id', '=', uuid)
      .limit(1)
      .executeTakeFirst();
    return r !== undefined;
  }

  /** Internal lookup (conductor): no tenancy. */
  async get(uuid: string): Promise<TemplateRow | undefined> {
    return this.db.selectFrom('cluster_templates').selectAll().where('uuid', '=', uuid).executeTakeFirst();
  }
}
