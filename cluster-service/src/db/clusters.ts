// Clusters and their nodegroups. Tenancy as Magnum's: a project sees its own
// clusters, admins see every cluster.

import { sql, type Insertable, type Selectable, type Updateable } from 'kysely';

import { paginate, type Page } from './paging';
import type { ClusterTable, Db, NodeGroupTable } from './schema';
import type { Scope } from './util';

export type ClusterRow = Selectable<ClusterTable>;
export type NodeGroupRow = Selectable<NodeGroupTable>;

export const CLUSTER_COLUMNS = new Set([
  'id',
  'uuid',
  'project_id',
  'user_id',
  'name',
  'cluster_template_id',
  'keypair',
  'docker_volume_size',
  'labels',
  'master_flavor_id',
  'flavor_id',
  'stack_id',
  'api_address',
  'status',
  'status_reason',
  'health_status',
  'health_status_reason',
  'create_timeout',
  'discovery_url',
  'coe_version',
  'container_version',
  'fixed_network',
  'fixed_subnet',
  'floating_ip_enabled',
  'master_lb_enabled',
  'created_at',
  'updated_at',
]);

export const NODEGROUP_COLUMNS = new Set([
  'id',
  'uuid',
  'name',
  'cluster_id',
  'project_id',
  'docker_volume_size',
  'labels',
  'flavor_id',
  'image_id',
  'node_addresses',
  'node_count',
  'role',
  'max_node_count',
  'min_node_count',
  'is_default',
  'stack_id',
  'status',
  'status_reason',
  'version',
  'created_at',
  'updated_at',
]);

export class ClusterRepo {
  constructor(private readonly db: Db) {}

  private visible(scope: Scope) {
    let q = this.db.selectFrom('clusters').selectAll();
    if (!scope.isAdmin) q = q.where('project_id', '=', scope.projectId ?? '');
    return q;
  }

  async byUuid(scope: Scope, uuid: string): Promise<ClusterRow | undefined> {
    return this.visible(scope).where('uuid', '=', uuid).executeTakeFirst();
  }

  async byName(scope: Scope, name: string): Promise<ClusterRow[]> {
    return this.visible(scope).where('name', '=', name).limit(2).execute();
  }

  async list(scope: Scope, page: Page): Promise<ClusterRow[]> {
    return paginate(this.visible(scope), page, 'clusters').execute();
  }

  /** Internal lookup (conductor, node reports): no tenancy. */
  async get(uuid: string): Promise<ClusterRow | undefined> {
    return this.db.selectFrom('clusters').selectAll().where('uuid', '=', uuid).executeTakeFirst();
  }

  async countInProject(projectId: string, db: Db = this.db): Promise<number> {
    const r = await db
      .selectFrom('clusters')
      .select(sql<number>`count(*)`.as('n'))
      .where('project_id', '=', projectId)
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  async insert(row: Insertable<ClusterTable>, db: Db = this.db): Promise<void> {
    await db.insertInto('clusters').values(row).execute();
  }

  async update(uuid: string, values: Updateable<ClusterTable>, db: Db = this.db): Promise<void> {
    await db.updateTable('clusters').set(values).where('uuid', '=', uuid).execute();
  }

  /** Removes the cluster and everything recorded about it. */
  async destroy(uuid: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('nodes').where('cluster_id', '=', uuid).execute();
      await tx.deleteFrom('nodegroups').where('cluster_id', '=', uuid).execute();
      await tx.deleteFrom('cluster_cas').where('cluster_id', '=', uuid).execute();
      await tx.deleteFrom('jobs').where('cluster_id', '=', uuid).execute();
      await tx.deleteFrom('clusters').where('uuid', '=', uuid).execute();
    });
  }

  // ---- nodegroups ----

  async nodegroups(clusterUuid: string, db: Db = this.db): Promise<NodeGroupRow[]> {
    return db
      .selectFrom('nodegroups')
      .selectAll()
      .where('cluster_id', '=', clusterUuid)
      .orderBy('id')
      .execute();
  }

  /** Nodegroups of many clusters at once (list views). */
  async nodegroupsOf(clusterUuids: string[]): Promise<Map<string, NodeGroupRow[]>> {
    const out = new Map<string, NodeGroupRow[]>();
    if (clusterUuids.length === 0) return out;
    const rows = await this.db
      .selectFrom('nodegroups')
      .selectAll()
      .where('cluster_id', 'in', clusterUuids)
      .orderBy('id')
      .execute();
    for (const r of rows) {
      const list = out.get(r.cluster_id) ?? [];
      list.push(r);
      out.set(r.cluster_id, list);
    }
    return out;
  }

  async listNodegroups(clusterUuid: string, page: Page, role?: string): Promise<NodeGroupRow[]> {
    let q = this.db.selectFrom('nodegroups').selectAll().where('cluster_id', '=', clusterUuid);
    if (role) q = q.where('role', '=', role);
    return paginate(q, page, 'nodegroups').execute();
  }

  async nodegroup(clusterUuid: string, ident: string): Promise<NodeGroupRow[]> {
    const q = this.db.selectFrom('nodegroups').selectAll().where('cluster_id', '=', clusterUuid);
    if (/^\d+$/.test(ident)) return q.where('id', '=', Number(ident)).execute();
    return q
      .where((eb) => eb.or([eb('uuid', '=', ident), eb('name', '=', ident)]))
      .limit(2)
      .execute();
  }

  async insertNodegroup(row: Insertable<NodeGroupTable>, db: Db = this.db): Promise<void> {
    await db.insertInto('nodegroups').values(row).execute();
  }

  async updateNodegroup(uuid: string, values: Updateable<NodeGroupTable>, db: Db = this.db): Promise<void> {
    await db.updateTable('nodegroups').set(values).where('uuid', '=', uuid).execute();
  }

  async deleteNodegroup(uuid: string, db: Db = this.db): Promise<void> {
    await db.deleteFrom('nodegroups').where('uuid', '=', uuid).execute();
  }

  /** {clusters, nodes} for a project, or for all projects (GET /v1/stats). */
  async stats(projectId: string | undefined): Promise<{ clusters: number; nodes: number }> {
    let c = this.db.selectFrom('clusters').select(sql<number>`count(*)`.as('n'));
    let n = this.db.selectFrom('nodegroups').select(sql<number>`coalesce(sum(node_count), 0)`.as('n'));
    if (projectId !== undefined) {
      c = c.where('project_id', '=', projectId);
      n = n.where('project_id', '=', projectId);
    }
    const [cr, nr] = await Promise.all([c.executeTakeFirst(), n.executeTakeFirst()]);
    return { clusters: Number(cr?.n ?? 0), nodes: Number(nr?.n ?? 0) };
  }
}
