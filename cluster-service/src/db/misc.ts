// Quotas, cluster CAs and conductor liveness records.

import { type Insertable, type Selectable } from 'kysely';

import { paginate, type Page } from './paging';
import type { ClusterCaTable, Db, QuotaTable, ServiceTable } from './schema';
import { nowIso } from './util';

export type QuotaRow = Selectable<QuotaTable>;
export type CaRow = Selectable<ClusterCaTable>;
export type ServiceRow = Selectable<ServiceTable>;

export const QUOTA_COLUMNS = new Set([
  'id',
  'project_id',
  'resource',
  'hard_limit',
  'created_at',
  'updated_at',
]);

export class QuotaRepo {
  constructor(private readonly db: Db) {}

  async get(projectId: string, resource: string, db: Db = this.db): Promise<QuotaRow | undefined> {
    return db
      .selectFrom('quotas')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('resource', '=', resource)
      .executeTakeFirst();
  }

  async byId(id: number): Promise<QuotaRow | undefined> {
    return this.db.selectFrom('quotas').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async list(page: Page, projectId?: string): Promise<QuotaRow[]> {
    let q = this.db.selectFrom('quotas').selectAll();
    if (projectId !== undefined) q = q.where('project_id', '=', projectId);
    return paginate(q, page, 'quotas').execute();
  }

  /** false when the project already has a quota for the resource */
  async create(row: Insertable<QuotaTable>): Promise<QuotaRow | undefined> {
    const r = await this.db
      .insertInto('quotas')
      .values(row)
      .onConflict((oc) => oc.columns(['project_id', 'resource']).doNothing())
      .executeTakeFirst();
    if (Number(r.numInsertedOrUpdatedRows ?? 0) === 0) return undefined;
    return this.get(row.project_id, row.resource);
  }

  async update(projectId: string, resource: string, hardLimit: number): Promise<QuotaRow | undefined> {
    await this.db
      .updateTable('quotas')
      .set({ hard_limit: hardLimit, updated_at: nowIso() })
      .where('project_id', '=', projectId)
      .where('resource', '=', resource)
      .execute();
    return this.get(projectId, resource);
  }

  async delete(projectId: string, resource: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('quotas')
      .where('project_id', '=', projectId)
      .where('resource', '=', resource)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}

export class CaRepo {
  constructor(private readonly db: Db) {}

  async get(clusterId: string, caType: string): Promise<CaRow | undefined> {
    return this.db
      .selectFrom('cluster_cas')
      .selectAll()
      .where('cluster_id', '=', clusterId)
      .where('ca_type', '=', caType)
      .executeTakeFirst();
  }

  /** Stores the CA unless one exists; returns the one in force. */
  async putIfAbsent(row: Insertable<ClusterCaTable>): Promise<CaRow> {
    await this.db
      .insertInto('cluster_cas')
      .values(row)
      .onConflict((oc) => oc.columns(['cluster_id', 'ca_type']).doNothing())
      .execute();
    return (await this.get(row.cluster_id, row.ca_type))!;
  }

  async replace(row: Insertable<ClusterCaTable>): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx
        .deleteFrom('cluster_cas')
        .where('cluster_id', '=', row.cluster_id)
        .where('ca_type', '=', row.ca_type)
        .execute();
      await tx.insertInto('cluster_cas').values(row).execute();
    });
  }
}

export class ServiceRepo {
  constructor(private readonly db: Db) {}

  /** Records that this conductor is alive (creating its row on first report). */
  async report(host: string, binary: string, now: number): Promise<void> {
    const r = await this.db
      .updateTable('services')
      .set((eb) => ({ report_count: eb('report_count', '+', 1), last_seen_up: now, updated_at: nowIso() }))
      .where('host', '=', host)
      .where('binary', '=', binary)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) {
      await this.db
        .insertInto('services')
        .values({
          host,
          binary,
          report_count: 1,
          disabled: 0,
          disabled_reason: null,
          last_seen_up: now,
          created_at: nowIso(),
          updated_at: null,
        })
        .onConflict((oc) => oc.columns(['host', 'binary']).doNothing())
        .execute();
    }
  }

  async list(): Promise<ServiceRow[]> {
    return this.db.selectFrom('services').selectAll().orderBy('id').execute();
  }
}
