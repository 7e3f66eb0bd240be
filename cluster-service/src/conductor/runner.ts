// The conductor's job loop. Jobs live in the database: this process claims
// them with a lease it keeps renewing, runs each as a series of driver steps,
// and records every step, so that if it dies, the lease runs out (or, on a
// restart of the same host, is reclaimed at once) and the job resumes where
// the database says it was. A job never outlives its deadline: it fails
// with what it was waiting for.

import type { Deps } from '../core/deps';
import type { JobAction, JobRow } from '../db/jobs';
import { nowIso } from '../db/util';
import { DriverError, isCloudHiccup } from '../drivers/driver';
import { ACTIONS } from './actions';

/** Failures worth retrying until the deadline (the cloud hiccuped), as opposed to a verdict. */
export function isTransient(e: unknown): boolean {
  if (e instanceof DriverError) return false;
  if (isCloudHiccup(e)) return true;
  const code = (e as { code?: string }).code;
  return code === 'SQLITE_BUSY' || code === 'ECONNRESET' || code === 'ECONNREFUSED';
}

function minutes(ms: number): string {
  const m = Math.round(ms / 60000);
  return `${m} minute${m === 1 ? '' : 's'}`;
}

export class JobRunner {
  private readonly running = new Map<string, { wake: () => void; clusterId: string }>();
  private timer: NodeJS.Timeout | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private readonly done = new Set<Promise<void>>();
  private readonly owner: string;

  constructor(private readonly deps: Deps) {
    this.owner = deps.config.DEFAULT.host;
  }

  start(): void {
    const c = this.deps.config.conductor;
    const tick = async () => {
      if (this.stopping) return;
      try {
        await this.claimAndRun();
      } catch (e) {
        this.deps.logger.error({ err: e }, 'conductor: claiming jobs failed');
      }
      if (!this.stopping) this.timer = setTimeout(() => void tick(), c.poll_interval * 1000);
    };
    void tick();
    this.leaseTimer = setInterval(() => void this.renewLeases(), (c.lease_seconds * 1000) / 3);
  }

  /** Stops taking jobs, lets running steps end, and hands the leases back for another conductor. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    clearInterval(this.leaseTimer);
    for (const r of this.running.values()) r.wake();
    await Promise.allSettled([...this.done]);
  }

  /** A node of the cluster reported: look at its job now rather than at the next interval. */
  poke(clusterId: string): void {
    for (const r of this.running.values()) if (r.clusterId === clusterId) r.wake();
  }

  private async claimAndRun(): Promise<void> {
    const c = this.deps.config.conductor;
    const jobs = await this.deps.jobs.claim(
      this.owner,
      Date.now(),
      c.lease_seconds * 1000,
      c.max_concurrent_jobs - this.running.size,
      new Set(this.running.keys()),
    );
    for (const job of jobs) {
      const p = this.run(job).finally(() => {
        this.running.delete(job.uuid);
        this.done.delete(p);
      });
      this.done.add(p);
    }
  }

  private async renewLeases(): Promise<void> {
    const until = Date.now() + this.deps.config.conductor.lease_seconds * 1000;
    for (const [uuid, r] of this.running) {
      try {
        if (!(await this.deps.jobs.renew(uuid, this.owner, until))) {
          this.deps.logger.warn({ job: uuid }, 'conductor: lost the lease of a job; stopping it here');
          this.running.delete(uuid);
          r.wake();
        }
      } catch (e) {
        this.deps.logger.warn({ err: e, job: uuid }, 'conductor: renewing a lease failed');
      }
    }
  }

  private sleep(uuid: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      const entry = this.running.get(uuid);
      if (entry) {
        entry.wake = () => {
          clearTimeout(t);
          resolve();
        };
      }
    });
  }

  private async run(job: JobRow): Promise<void> {
    const { deps } = this;
    const log = deps.logger.child({ job: job.uuid, cluster: job.cluster_id, action: job.action });
    this.running.set(job.uuid, { wake: () => {}, clusterId: job.cluster_id });
    const action = ACTIONS[job.action as JobAction];
    if (!action) {
      await deps.jobs.finish(job.uuid, 'failed', `unknown action ${job.action}`);
      return;
    }
    log.info(
      { attempt: job.attempts + 1 },
      job.attempts > 0 ? 'conductor: resuming job' : 'conductor: starting job',
    );
    let lastStep = job.step ?? 'starting';
    let failures = 0;
    for (;;) {
      if (this.stopping || !this.running.has(job.uuid)) {
        // hand the job back: its lease is cleared so the next conductor takes it at once
        if (this.stopping) await deps.jobs.renew(job.uuid, this.owner, 0).catch(() => undefined);
        return;
      }
      const state = await deps.jobs.state(job.uuid);
      if (state === 'cancelling' || state === 'cancelled' || state === undefined) {
        if (state === 'cancelling') await deps.jobs.finish(job.uuid, 'cancelled', 'cancelled by a delete');
        log.info('conductor: job cancelled');
        return;
      }
      const cluster = await deps.clusters.get(job.cluster_id);
      if (!cluster) {
        await deps.jobs.finish(job.uuid, 'cancelled', 'the cluster no longer exists');
        return;
      }
      if (job.deadline !== null && Date.now() > job.deadline) {
        const limit =
          job.action === 'create'
            ? `create_timeout`
            : `[conductor] ${job.action === 'delete' ? 'delete' : 'update'}_timeout`;
        const budget = job.deadline - Date.parse(job.created_at);
        await this.fail(
          job,
          cluster.uuid,
          `${action.verb} timed out after ${minutes(budget)} (${limit}): ${lastStep}`,
        );
        log.warn({ step: lastStep }, 'conductor: job timed out');
        return;
      }
      let result;
      try {
        result = await action.step(deps, cluster, job);
        failures = 0;
      } catch (e) {
        if (isTransient(e) && (job.deadline === null || Date.now() < job.deadline)) {
          failures += 1;
          lastStep = `${lastStep} (retrying after: ${(e as Error).message})`;
          log.warn({ err: (e as Error).message, failures }, 'conductor: step failed, retrying');
          await this.sleep(job.uuid, Math.min(30_000, 1000 * 2 ** Math.min(failures, 5)));
          continue;
        }
        const reason = (e as Error).message || String(e);
        log.warn({ err: e }, 'conductor: job failed');
        await this.fail(job, cluster.uuid, reason);
        return;
      }
      if (result.done) {
        const out = (await action.succeed?.(deps, cluster, job)) ?? {};
        if (!out.gone) {
          await deps.clusters.update(cluster.uuid, {
            status: `${action.verb}_COMPLETE`,
            status_reason: `${action.verb} completed successfully`,
            updated_at: nowIso(),
          });
        }
        await deps.jobs.finish(job.uuid, 'succeeded', null);
        log.info('conductor: job succeeded');
        return;
      }
      if (result.step !== lastStep) {
        lastStep = result.step;
        await deps.jobs.setStep(job.uuid, result.step);
        // while in progress, status_reason says what the cluster is waiting for
        await deps.clusters.update(cluster.uuid, { status_reason: result.step });
      }
      const left = job.deadline === null ? Infinity : job.deadline - Date.now();
      await this.sleep(job.uuid, Math.max(50, Math.min(result.retryAfterMs, left + 50)));
    }
  }

  private async fail(job: JobRow, clusterId: string, reason: string): Promise<void> {
    const action = ACTIONS[job.action as JobAction];
    const cluster = await this.deps.clusters.get(clusterId);
    if (cluster) {
      await action.failed?.(this.deps, cluster, job, reason);
      await this.deps.clusters.update(clusterId, {
        status: `${action.verb}_FAILED`,
        status_reason: reason,
        updated_at: nowIso(),
      });
    }
    await this.deps.jobs.finish(job.uuid, 'failed', reason);
  }
}
