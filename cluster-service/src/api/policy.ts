// Magnum's default policy (magnum/common/policies): admins (role admin) act
// on every project; a project's members on their project's clusters and
// templates; certificates belong to the user who created the cluster;
// quotas and services are for admins.

import type { RequestContext } from 'keystone-client-ts';

import { policyDenied } from './errors';

/** rule:admin_or_owner */
export function requireOwnerOrAdmin(ctx: RequestContext, action: string, projectId: string | null): void {
  if (!ctx.isAdmin && (!projectId || ctx.projectId !== projectId)) throw policyDenied(action);
}

/** rule:admin_or_user (certificates) */
export function requireUserOrAdmin(ctx: RequestContext, action: string, userId: string | null): void {
  if (!ctx.isAdmin && (!userId || ctx.userId !== userId)) throw policyDenied(action);
}

/** rule:admin_api */
export function requireAdmin(ctx: RequestContext, action: string): void {
  if (!ctx.isAdmin) throw policyDenied(action);
}

/** Creating anything needs a project to put it in. */
export function requireProject(ctx: RequestContext, action: string): string {
  if (!ctx.projectId) throw policyDenied(action);
  return ctx.projectId;
}
