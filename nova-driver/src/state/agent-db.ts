/**
 * The agent's own small state, beside what dockerd already knows: which
 * local images came from which Glance image (for the size-bounded cache) and
 * which instances are suspended (Docker has no such state; a suspended
 * container is frozen like a paused one). Containers themselves are never
 * recorded here: dockerd and their labels are the truth.
 */
import { Kysely } from 'kysely';
import { openDatabase, ServiceDatabase } from '@berth/service-kit';
import type { Logger } from '@berth/service-kit';

export interface AgentTables {
  image_cache: { image_id: string; ref: string; size: number; last_used: number };
  suspended: { instance_uuid: string; since: number };
}

const migrations = {
  '0001_agent_state': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('image_cache')
        .addColumn('image_id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('ref', 'varchar(255)', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('last_used', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('suspended')
        .addColumn('instance_uuid', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('since', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
};

export class AgentState {
  private constructor(private readonly handle: ServiceDatabase<AgentTables>) {}

  static async open(url: string, logger?: Logger): Promise<AgentState> {
    return new AgentState(
      await openDatabase<AgentTables>(url, { migrations, ...(logger ? { logger } : {}) }),
    );
  }

  get db(): Kysely<AgentTables> {
    return this.handle.db;
  }

  close(): Promise<void> {
    return this.handle.close();
  }

  async isSuspended(uuid: string): Promise<boolean> {
    return (
      (await this.db
        .selectFrom('suspended')
        .select('instance_uuid')
        .where('instance_uuid', '=', uuid)
        .executeTakeFirst()) !== undefined
    );
  }

  async suspendedSet(): Promise<Set<string>> {
    return new Set(
      (await this.db.selectFrom('suspended').select('instance_uuid').execute()).map((r) => r.instance_uuid),
    );
  }

  async setSuspended(uuid: string, suspended: boolean): Promise<void> {
    if (suspended) {
      await this.db
        .insertInto('suspended')
        .values({ instance_uuid: uuid, since: Date.now() })
        .onConflict((oc) => oc.column('instance_uuid').doNothing())
        .execute();
    } else {
      await this.db.deleteFrom('suspended').where('instance_uuid', '=', uuid).execute();
    }
  }

  async recordImage(imageId: string, ref: string, size: number): Promise<void> {
    await this.db
      .insertInto('image_cache')
      .values({ image_id: imageId, ref, size, last_used: Date.now() })
      .onConflict((oc) => oc.column('image_id').doUpdateSet({ ref, size, last_used: Date.now() }))
      .execute();
  }

  async touchImage(imageId: string): Promise<void> {
    await this.db
      .updateTable('image_cache')
      .set({ last_used: Date.now() })
      .where('image_id', '=', imageId)
      .execute();
  }

  /** least recently used first */
  async cachedImages(): Promise<AgentTables['image_cache'][]> {
    const rows = await this.db.selectFrom('image_cache').selectAll().orderBy('last_used', 'asc').execute();
    return rows.map((r) => ({ ...r, size: Number(r.size), last_used: Number(r.last_used) }));
  }

  async forgetImage(imageId: string): Promise<void> {
    await this.db.deleteFrom('image_cache').where('image_id', '=', imageId).execute();
  }
}
