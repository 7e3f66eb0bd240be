// Quotas (API 1.6+), stats (1.4+) and conductor services, with Magnum's
// policy: quotas are set by admins; a project reads its own.

import { ApiError } from '@berth/service-kit';
import type { RequestContext } from 'keystone-client-ts';

import type { components } from '../generated/api';
import { invalid, notAuthorized, quotaNotFound } from '../api/errors';
import { requireAdmin, requireProject } from '../api/policy';
import type { QuotaRow } from '../db/misc';
import { nowIso } from '../db/util';
import type { Deps } from './deps';
import { upstream } from '../openstack/upstream';

type S = components['schemas'];

/** The explicit quota, or undefined when the project has the default (`[quotas] max_clusters_per_project`). */
export async function getQuota(
  deps: Deps,
  ctx: RequestContext,
  projectId: string,
  resource: string,
): Promise<QuotaRow | undefined> {
  requireProject(ctx, 'quota:get');
  if (!ctx.isAdmin && projectId !== ctx.projectId) throw notAuthorized();
  return deps.quotas.get(projectId, resource);
}

export async function createQuota(
  deps: Deps,
  ctx: RequestContext,
  body: S['QuotaCreate'],
): Promise<QuotaRow> {
  requireAdmin(ctx, 'quota:create');
  if (!body.project_id) throw invalid('Must provide a valid project ID.');
  if (!(await upstream('Keystone', () => deps.keystone.projectExists(body.project_id)))) {
    throw new ApiError(404, 'ProjectNotFound', `The project_id ${body.project_id} could not be found.`);
  }
  const resource = body.resource ?? 'Cluster';
  const created = await deps.quotas.create({
    project_id: body.project_id,
    resource,
    hard_limit: body.hard_limit ?? 1,
    created_at: nowIso(),
    updated_at: null,
  });
  if (!created) {
    throw new ApiError(
      409,
      'QuotaAlreadyExists',
      `Quota for project ${body.project_id} already exists for resource ${resource}.`,
    );
  }
  return created;
}

export async function updateQuota(
  deps: Deps,
  ctx: RequestContext,
  projectId: string,
  resource: string,
  body: S['QuotaUpdate'],
): Promise<QuotaRow> {
  requireAdmin(ctx, 'quota:update');
  const current = await deps.quotas.get(projectId, resource);
  if (!current) throw quotaNotFound(`project_id ${projectId} resource ${resource}.`);
  const updated = await deps.quotas.update(projectId, resource, body.hard_limit ?? 1);
  return updated!;
}

export async function deleteQuota(
  deps: Deps,
  ctx: RequestContext,
  projectId: string,
  resource: string,
): Promise<void> {
  requireAdmin(ctx, 'quota:delete');
  if (!(await deps.quotas.delete(projectId, resource)))
    throw quotaNotFound(`project_id ${projectId} resource ${resource}.`);
}

export async function stats(
  deps: Deps,
  ctx: RequestContext,
  projectId: string | undefined,
  type: string | undefined,
) {
  if ((type ?? 'cluster').toLowerCase() !== 'cluster')
    throw invalid("Invalid stats type. Allowed values are 'cluster'");
  let project = projectId || undefined;
  if (!ctx.isAdmin) {
    project ??= ctx.projectId;
    if (project !== ctx.projectId) throw notAuthorized();
  }
  return deps.clusters.stats(project);
}
