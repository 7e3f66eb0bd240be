// What each job action does around its driver call, and the statuses it
// moves the cluster (and nodegroups) through: *_IN_PROGRESS is set when the
// job is enqueued, *_COMPLETE or *_FAILED here, with a status_reason that
// always says what went wrong.

import { AuthenticationError } from 'keystone-client-ts';

import type { Deps } from '../core/deps';
import type { ClusterRow } from '../db/clusters';
import { jobParams, type JobAction, type JobRow } from '../db/jobs';
import { nowIso } from '../db/util';
import type { ResizeRequest, StepResult, UpgradeRequest } from '../drivers/driver';
import { buildContext } from './context';

export interface ActionOutcome {
  /** the cluster is gone (deleted): nothing to update */
  gone?: boolean;
}

interface ActionSpec {
  /** the status word: CREATE, UPDATE or DELETE */
  verb: 'CREATE' | 'UPDATE' | 'DELETE';
  step(deps: Deps, cluster: ClusterRow, job: JobRow): Promise<StepResult>;
  succeed?(deps: Deps, cluster: ClusterRow, job: JobRow): Promise<ActionOutcome | void>;
  failed?(deps: Deps, cluster: ClusterRow, job: JobRow, reason: string): Promise<void>;
}

export interface NodegroupJobParams {
  nodegroupId: string;
  nodeCount: number;
  nodesToRemove?: string[];
  /** node_count before the change, restored when the change fails */
  previousCount?: number;
}

export interface UpgradeJobParams {
  nodegroupId: string;
  templateId: string;
  maxBatchSize: number;
}

type Built = Awaited<ReturnType<typeof buildContext>>;

async function withContext(
  deps: Deps,
  cluster: ClusterRow,
  call: (built: Built) => Promise<StepResult>,
  asAdmin = false,
): Promise<StepResult> {
  return call(await buildContext(deps, cluster, { asAdmin }));
}

async function setNodegroupStatus(deps: Deps, ngId: string, status: string, reason: string | null) {
  await deps.clusters.updateNodegroup(ngId, { status, status_reason: reason, updated_at: nowIso() });
}

/** Puts a failed nodegroup's node_count back to the nodes it really has. */
async function restoreCount(deps: Deps, cluster: ClusterRow, p: NodegroupJobParams) {
  const nodes = await deps.nodes.list(cluster.uuid);
  const live = nodes.filter(
    (n) => n.nodegroup_id === p.nodegroupId && !['draining', 'drained', 'removing'].includes(n.state),
  );
  await deps.clusters.updateNodegroup(p.nodegroupId, { node_count: live.length, updated_at: nowIso() });
}

export const ACTIONS: Record<JobAction, ActionSpec> = {
  create: {
    verb: 'CREATE',
    async step(deps, cluster) {
      // the cluster CA first: nodes get their TLS certificates from it
      await deps.caService.ensure(cluster.uuid, cluster.name);
      return withContext(deps, cluster, ({ ctx, driver }) => driver.create(ctx));
    },
    async succeed(deps, cluster) {
      for (const ng of await deps.clusters.nodegroups(cluster.uuid)) {
        await setNodegroupStatus(deps, ng.uuid, 'CREATE_COMPLETE', null);
      }
    },
    async failed(deps, cluster, _job, reason) {
      for (const ng of await deps.clusters.nodegroups(cluster.uuid)) {
        if (ng.status === 'CREATE_IN_PROGRESS')
          await setNodegroupStatus(deps, ng.uuid, 'CREATE_FAILED', reason);
      }
    },
  },

  resize: {
    verb: 'UPDATE',
    step(deps, cluster, job) {
      const p = jobParams<NodegroupJobParams>(job);
      const req: ResizeRequest = {
        nodegroupId: p.nodegroupId,
        nodeCount: p.nodeCount,
        nodesToRemove: p.nodesToRemove ?? [],
      };
      return withContext(deps, cluster, ({ ctx, driver }) => driver.resize(ctx, req));
    },
    async succeed(deps, _cluster, job) {
      await setNodegroupStatus(deps, jobParams<NodegroupJobParams>(job).nodegroupId, 'UPDATE_COMPLETE', null);
    },
    async failed(deps, cluster, job, reason) {
      const p = jobParams<NodegroupJobParams>(job);
      await setNodegroupStatus(deps, p.nodegroupId, 'UPDATE_FAILED', reason);
      await restoreCount(deps, cluster, p);
    },
  },

  upgrade: {
    verb: 'UPDATE',
    step(deps, cluster, job) {
      const p = jobParams<UpgradeJobParams>(job);
      const req: UpgradeRequest = {
        nodegroupId: p.nodegroupId,
        templateId: p.templateId,
        maxBatchSize: p.maxBatchSize,
      };
      return withContext(deps, cluster, ({ ctx, driver }) => driver.upgrade(ctx, req));
    },
    async succeed(deps, cluster, job) {
      const p = jobParams<UpgradeJobParams>(job);
      await setNodegroupStatus(deps, p.nodegroupId, 'UPDATE_COMPLETE', null);
      const ng = (await deps.clusters.nodegroups(cluster.uuid)).find((g) => g.uuid === p.nodegroupId);
      // the default nodegroup carries the cluster to the new template (as magnum-cluster-api does)
      if (ng?.is_default) await deps.clusters.update(cluster.uuid, { cluster_template_id: p.templateId });
    },
    async failed(deps, _cluster, job, reason) {
      await setNodegroupStatus(deps, jobParams<UpgradeJobParams>(job).nodegroupId, 'UPDATE_FAILED', reason);
    },
  },

  rotate_ca: {
    verb: 'UPDATE',
    step: (deps, cluster) => withContext(deps, cluster, ({ ctx, driver }) => driver.rotateCa(ctx)),
  },

  nodegroup_create: {
    verb: 'UPDATE',
    step(deps, cluster, job) {
      const p = jobParams<NodegroupJobParams>(job);
      return withContext(deps, cluster, ({ ctx, driver }) =>
        driver.resize(ctx, { nodegroupId: p.nodegroupId, nodeCount: p.nodeCount, nodesToRemove: [] }),
      );
    },
    async succeed(deps, _cluster, job) {
      await setNodegroupStatus(deps, jobParams<NodegroupJobParams>(job).nodegroupId, 'CREATE_COMPLETE', null);
    },
    async failed(deps, _cluster, job, reason) {
      await setNodegroupStatus(deps, jobParams<NodegroupJobParams>(job).nodegroupId, 'CREATE_FAILED', reason);
    },
  },

  nodegroup_update: {
    verb: 'UPDATE',
    step: async () => ({ done: true }),
  },

  nodegroup_delete: {
    verb: 'UPDATE',
    step(deps, cluster, job) {
      const p = jobParams<NodegroupJobParams>(job);
      return withContext(deps, cluster, ({ ctx, driver }) =>
        driver.resize(ctx, { nodegroupId: p.nodegroupId, nodeCount: 0, nodesToRemove: [] }),
      );
    },
    async succeed(deps, _cluster, job) {
      await deps.clusters.deleteNodegroup(jobParams<NodegroupJobParams>(job).nodegroupId);
    },
    async failed(deps, _cluster, job, reason) {
      await setNodegroupStatus(deps, jobParams<NodegroupJobParams>(job).nodegroupId, 'DELETE_FAILED', reason);
    },
  },

  delete: {
    verb: 'DELETE',
    async step(deps, cluster) {
      try {
        return await withContext(deps, cluster, ({ ctx, driver }) => driver.delete(ctx));
      } catch (e) {
        // the owner (or their trust) is gone: clean up with the service's own admin identity
        if (e instanceof AuthenticationError || (e as { status?: number }).status === 401) {
          deps.logger.warn(
            { cluster: cluster.uuid, err: (e as Error).message },
            'trust unusable, deleting as admin',
          );
          return withContext(deps, cluster, ({ ctx, driver }) => driver.delete(ctx), true);
        }
        throw e;
      }
    },
    async succeed(deps, cluster) {
      if (cluster.trust_id) {
        await deps.keystone
          .deleteTrust(cluster.trust_id)
          .catch((e: unknown) =>
            deps.logger.warn(
              { cluster: cluster.uuid, err: (e as Error).message },
              'could not delete the trust',
            ),
          );
      }
      await deps.clusters.destroy(cluster.uuid);
      return { gone: true };
    },
  },
};

/** `{ng name: reason}` of failed nodegroups, for the cluster's `faults`. */
export function faultsOf(ngs: Array<{ name: string; status: string | null; status_reason: string | null }>) {
  const out: Record<string, string> = {};
  for (const ng of ngs) if (ng.status?.endsWith('FAILED')) out[ng.name] = ng.status_reason ?? '';
  return out;
}
