// The servers of each cluster as the driver planned and saw them.

import type { Insertable, Selectable, Updateable } from 'kysely';

import type { Db, NodeTable } from './schema';

export type NodeRow = Selectable<NodeTable>;

export class NodeRepo {
  constructor(private readonly db: Db) {}

  async list(clusterUuid: string): Promise<NodeRow[]> {
    return this.db
      .selectFrom('nodes')
      .selectAll()
      .where('cluster_id', '=', clusterUuid)
      .orderBy('role')
      .orderBy('idx')
      .execute();
  }

  async get(uuid: string): Promise<NodeRow | undefined> {
    return this.db.selectFrom('nodes').selectAll().where('uuid', '=', uuid).executeTakeFirst();
  }

  async insert(row: Insertable<NodeTable>): Promise<void> {
    await this.db.insertInto('nodes').values(row).execute();
  }

  async update(uuid: string, values: Updateable<NodeTable>): Promise<void> {
    await this.db.updateTable('nodes').set(values).where('uuid', '=', uuid).execute();
  }

  async updateIf(uuid: string, state: string, values: Updateable<NodeTable>): Promise<boolean> {
    const r = await this.db
      .updateTable('nodes')
      .set(values)
      .where('uuid', '=', uuid)
      .where('state', '=', state)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async delete(uuid: string): Promise<void> {
    await this.db.deleteFrom('nodes').where('uuid', '=', uuid).execute();
  }
}
