// Resource rows, project-scoped: every read takes the caller's project, so a
// resource of another project is simply not found. Writes after the first
// are compare-and-set on the row version: Heat polls (GET) and acts (PATCH,
// DELETE) concurrently, and a slower writer must not undo a newer state.

import { sql, type Kysely } from 'kysely';

import type { HeatResourcesTables, ResourcesTable } from './schema';

export type Action = 'CREATE' | 'UPDATE' | 'DELETE' | 'SUSPEND' | 'RESUME' | 'CHECK';
export type Status = 'IN_PROGRESS' | 'COMPLETE' | 'FAILED';

export interface ResourceRecord<P = Record<string, unknown>, S = Record<string, unknown>> {
  id: string;
  type: string;
  projectId: string;
  userId: string;
  stackId: string | null;
  resourceName: string | null;
  idempotencyKey: string | null;
  action: Action;
  status: Status;
  statusReason: string;
  properties: P;
  state: S;
  createdAt: string;
  updatedAt: string;
  version: number;
}

export type NewRecord<P, S> = Omit<ResourceRecord<P, S>, 'createdAt' | 'updatedAt' | 'version'>;
export type RecordChanges<P, S> = Partial<
  Pick<ResourceRecord<P, S>, 'action' | 'status' | 'statusReason' | 'properties' | 'state'>
>;

/** Another create with the same idempotency key got there first. */
export class DuplicateKeyError extends Error {
  constructor() {
    super('a resource with this idempotency key exists');
    this.name = 'DuplicateKeyError';
  }
}

type Row = Omit<ResourcesTable, 'version'> & { version: number };

function fromRow<P, S>(r: Row): ResourceRecord<P, S> {
  return {
    id: r.id,
    type: r.type,
    projectId: r.project_id,
    userId: r.user_id,
    stackId: r.stack_id,
    resourceName: r.resource_name,
    idempotencyKey: r.idempotency_key,
    action: r.action as Action,
    status: r.status as Status,
    statusReason: r.status_reason,
    properties: JSON.parse(r.properties) as P,
    state: JSON.parse(r.state) as S,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    version: Number(r.version),
  };
}

const isUniqueViolation = (e: unknown) =>
  /UNIQUE constraint|duplicate key value/i.test(String((e as Error)?.message));

export class ResourceStore {
  constructor(
    private readonly db: Kysely<HeatResourcesTables>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async insert<P, S>(r: NewRecord<P, S>): Promise<ResourceRecord<P, S>> {
    const at = this.now().toISOString();
    try {
      await this.db
        .insertInto('heat_resources')
        .values({
          id: r.id,
          type: r.type,
          project_id: r.projectId,
          user_id: r.userId,
          stack_id: r.stackId,
          resource_name: r.resourceName,
          idempotency_key: r.idempotencyKey,
          action: r.action,
          status: r.status,
          status_reason: r.statusReason,
          properties: JSON.stringify(r.properties),
          state: JSON.stringify(r.state),
          created_at: at,
          updated_at: at,
          version: 1,
        })
        .execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw new DuplicateKeyError();
      throw e;
    }
    return { ...r, createdAt: at, updatedAt: at, version: 1 };
  }

  /** The resource if it is of this type and in this project. */
  async get<P, S>(projectId: string, type: string, id: string): Promise<ResourceRecord<P, S> | undefined> {
    const row = await this.db
      .selectFrom('heat_resources')
      .selectAll()
      .where('id', '=', id)
      .where('project_id', '=', projectId)
      .where('type', '=', type)
      .executeTakeFirst();
    return row ? fromRow<P, S>(row as Row) : undefined;
  }

  /** The resource of this type whatever its project: for cloud admins only (the caller decides). */
  async getAnyProject<P, S>(type: string, id: string): Promise<ResourceRecord<P, S> | undefined> {
    const row = await this.db
      .selectFrom('heat_resources')
      .selectAll()
      .where('id', '=', id)
      .where('type', '=', type)
      .executeTakeFirst();
    return row ? fromRow<P, S>(row as Row) : undefined;
  }

  async findByKey<P, S>(
    projectId: string,
    type: string,
    key: string,
  ): Promise<ResourceRecord<P, S> | undefined> {
    const row = await this.db
      .selectFrom('heat_resources')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('type', '=', type)
      .where('idempotency_key', '=', key)
      .executeTakeFirst();
    return row ? fromRow<P, S>(row as Row) : undefined;
  }

  async list<P, S>(projectId: string, type: string): Promise<ResourceRecord<P, S>[]> {
    const rows = await this.db
      .selectFrom('heat_resources')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('type', '=', type)
      .orderBy('created_at')
      .execute();
    return rows.map((r) => fromRow<P, S>(r as Row));
  }

  /**
   * Applies changes if the row is still at the record's version; returns the
   * new record, or the row as another writer left it (undefined: deleted).
   */
  async update<P, S>(
    r: ResourceRecord<P, S>,
    changes: RecordChanges<P, S>,
  ): Promise<ResourceRecord<P, S> | undefined> {
    const at = this.now().toISOString();
    const set: Partial<Record<keyof ResourcesTable, unknown>> = { updated_at: at, version: r.version + 1 };
    if (changes.action !== undefined) set.action = changes.action;
    if (changes.status !== undefined) set.status = changes.status;
    if (changes.statusReason !== undefined) set.status_reason = changes.statusReason;
    if (changes.properties !== undefined) set.properties = JSON.stringify(changes.properties);
    if (changes.state !== undefined) set.state = JSON.stringify(changes.state);
    const res = await this.db
      .updateTable('heat_resources')
      .set(set as never)
      .where('id', '=', r.id)
      .where('version', '=', r.version)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 1) return { ...r, ...changes, updatedAt: at, version: r.version + 1 };
    return this.get<P, S>(r.projectId, r.type, r.id);
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('heat_resources').where('id', '=', id).execute();
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }
}
