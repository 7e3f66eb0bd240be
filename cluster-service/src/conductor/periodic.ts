// The conductor's periodic tasks: each cluster's health (driver.health, as
// Magnum's periodic health sync), and this conductor's own liveness record
// (`openstack coe service list`).

import type { Deps } from '../core/deps';
import { nowIso } from '../db/util';
import { buildContext } from './context';

export const CONDUCTOR_BINARY = 'berth-cluster-conductor';

/** Statuses in which a cluster has nodes worth asking about. */
const HEALTH_STATUSES = ['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_IN_PROGRESS', 'UPDATE_FAILED'];

export class Periodic {
  private timers: NodeJS.Timeout[] = [];
  private healthRun: Promise<void> | undefined;

  constructor(private readonly deps: Deps) {}

  start(): void {
    const c = this.deps.config.conductor;
    const report = () =>
      this.deps.services
        .report(this.deps.config.DEFAULT.host, CONDUCTOR_BINARY, Date.now())
        .catch((e: unknown) => this.deps.logger.warn({ err: e }, 'conductor: liveness report failed'));
    void report();
    this.timers.push(setInterval(() => void report(), c.service_report_interval * 1000));
    this.timers.push(
      setInterval(() => {
        this.healthRun ??= this.pollHealth().finally(() => (this.healthRun = undefined));
      }, c.health_polling_interval * 1000),
    );
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.healthRun;
  }

  /** One pass over the clusters: keeps health_status and health_status_reason current. */
  async pollHealth(): Promise<void> {
    const { deps } = this;
    const clusters = await deps.db
      .selectFrom('clusters')
      .selectAll()
      .where('status', 'in', HEALTH_STATUSES)
      .execute();
    for (const cluster of clusters) {
      try {
        const { ctx, driver } = await buildContext(deps, cluster);
        const h = await driver.health(ctx);
        const reason = JSON.stringify(h.reason);
        if (h.status !== cluster.health_status || reason !== cluster.health_status_reason) {
          await deps.clusters.update(cluster.uuid, {
            health_status: h.status,
            health_status_reason: reason,
            updated_at: nowIso(),
          });
          deps.logger.info({ cluster: cluster.uuid, health: h.status }, 'cluster health changed');
        }
      } catch (e) {
        deps.logger.warn({ err: e, cluster: cluster.uuid }, 'health poll failed');
      }
    }
  }
}
