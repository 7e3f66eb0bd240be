// Durable conductor jobs. A job is claimed with a lease that its conductor
// keeps renewing; when a conductor dies its leases run out and another one
// (or the same host after a restart, at once) takes the job over and resumes
// it. One job runs per cluster at a time; a delete cancels the others.

import { randomUUID } from 'node:crypto';

import type { Selectable } from 'kysely';

import type { Db, JobTable } from './schema';
import { nowIso, parseJson } from './util';

export type JobRow = Selectable<JobTable>;
export type JobAction =
  | 'create'
  | 'resize'
  | 'upgrade'
  | 'delete'
  | 'rotate_ca'
  | 'nodegroup_create'
  | 'nodegroup_update'
  | 'nodegroup_delete';
export type JobState = 'pending' | 'running' | 'cancelling' | 'succeeded' | 'failed' | 'cancelled';

const LIVE: JobState[] = ['pending', 'running', 'cancelling'];

export interface NewJob {
  clusterId: string;
  action: JobAction;
  params?: Record<string, unknown>;
  /** epoch ms */
  deadline: number | null;
}

export function jobParams<T>(job: JobRow): T {
  return parseJson<T>(job.params, {} as T);
}

export class JobRepo {
  constructor(private readonly db: Db) {}

  async enqueue(job: NewJob, db: Db = this.db): Promise<string> {
    const uuid = randomUUID();
    await db
      .insertInto('jobs')
      .values({
        uuid,
        cluster_id: job.clusterId,
        action: job.action,
        state: 'pending',
        params: JSON.stringify(job.params ?? {}),
        step: null,
        attempts: 0,
        lease_owner: null,
        lease_until: null,
        deadline: job.deadline,
        error: null,
        created_at: nowIso(),
        updated_at: null,
        finished_at: null,
      })
      .execute();
    return uuid;
  }

  /**
   * Marks the cluster's live jobs as cancelled (pending ones) or cancelling
   * (running ones: their conductor stops them at its next step).
   */
  async cancelLive(clusterId: string, db: Db = this.db): Promise<void> {
    const now = nowIso();
    await db
      .updateTable('jobs')
      .set({ state: 'cancelled', finished_at: now, updated_at: now, error: 'cancelled by a later delete' })
      .where('cluster_id', '=', clusterId)
      .where('state', '=', 'pending')
      .execute();
    await db
      .updateTable('jobs')
      .set({ state: 'cancelling', updated_at: now })
      .where('cluster_id', '=', clusterId)
      .where('state', '=', 'running')
      .execute();
  }

  async live(clusterId: string): Promise<JobRow[]> {
    return this.db
      .selectFrom('jobs')
      .selectAll()
      .where('cluster_id', '=', clusterId)
      .where('state', 'in', LIVE)
      .orderBy('created_at')
      .execute();
  }

  async get(uuid: string): Promise<JobRow | undefined> {
    return this.db.selectFrom('jobs').selectAll().where('uuid', '=', uuid).executeTakeFirst();
  }

  /**
   * Takes up to `max` jobs this conductor may run now: pending ones whose
   * cluster has no other running job, and running ones whose lease expired
   * or that this host held before it restarted. `running` are the jobs this
   * process already runs.
   */
  async claim(
    owner: string,
    now: number,
    leaseMs: number,
    max: number,
    running: Set<string>,
  ): Promise<JobRow[]> {
    if (max <= 0) return [];
    const candidates = await this.db
      .selectFrom('jobs')
      .selectAll()
      .where('state', 'in', LIVE)
      .where((eb) =>
        eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now), eb('lease_owner', '=', owner)]),
      )
      .orderBy('created_at')
      .limit(max * 4 + running.size)
      .execute();
    const claimed: JobRow[] = [];
    for (const job of candidates) {
      if (claimed.length >= max) break;
      if (running.has(job.uuid)) continue;
      if (job.state === 'pending') {
        // one job per cluster: wait for an earlier one to end (or to be taken over first)
        const busy = await this.db
          .selectFrom('jobs')
          .select('uuid')
          .where('cluster_id', '=', job.cluster_id)
          .where('state', 'in', ['running', 'cancelling'])
          .where('uuid', '!=', job.uuid)
          .limit(1)
          .executeTakeFirst();
        if (busy) continue;
      }
      const r = await this.db
        .updateTable('jobs')
        .set({
          state: job.state === 'pending' ? 'running' : job.state,
          lease_owner: owner,
          lease_until: now + leaseMs,
          attempts: job.attempts + 1,
          updated_at: nowIso(),
        })
        .where('uuid', '=', job.uuid)
        .where('state', '=', job.state)
        .where((eb) =>
          eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now), eb('lease_owner', '=', owner)]),
        )
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 1) {
        claimed.push({ ...job, state: job.state === 'pending' ? 'running' : job.state, lease_owner: owner });
      }
    }
    return claimed;
  }

  /** Extends the lease; false when the job is no longer this owner's. */
  async renew(uuid: string, owner: string, until: number): Promise<boolean> {
    const r = await this.db
      .updateTable('jobs')
      .set({ lease_until: until })
      .where('uuid', '=', uuid)
      .where('lease_owner', '=', owner)
      .where('state', 'in', ['running', 'cancelling'])
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async setStep(uuid: string, step: string): Promise<void> {
    await this.db.updateTable('jobs').set({ step, updated_at: nowIso() }).where('uuid', '=', uuid).execute();
  }

  async state(uuid: string): Promise<JobState | undefined> {
    const r = await this.db.selectFrom('jobs').select('state').where('uuid', '=', uuid).executeTakeFirst();
    return r?.state as JobState | undefined;
  }

  async finish(
    uuid: string,
    state: 'succeeded' | 'failed' | 'cancelled',
    error: string | null,
    db: Db = this.db,
  ) {
    const now = nowIso();
    await db
      .updateTable('jobs')
      .set({ state, error, finished_at: now, updated_at: now, lease_owner: null, lease_until: null })
      .where('uuid', '=', uuid)
      .execute();
  }
}
