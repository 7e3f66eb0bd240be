// The generic half of every resource type: project scoping, idempotent
// creates, property diffs on update (and the refusal of changes that must
// replace), the type's cross-property rules, and persistence of each
// action's progress. The type's handler does the OpenStack calls.

import { randomBytes } from 'node:crypto';

import { ApiError, type Logger } from '@berth/service-kit';
import type { RequestContext } from 'keystone-client-ts';

import {
  type Action,
  DuplicateKeyError,
  type ResourceRecord,
  type ResourceStore,
} from '../db/resource-store';
import type { ClientFactory } from '../openstack/clients';
import { brokenRule, type HeatResourceType, type ResourceTypes, type UpdateKind } from '../types/heat-schema';
import { conflictingState, invalidProperties, resourceNotFound, upstream } from './errors';
import { type Caller, GONE, type Outcome, type ResourceHandler } from './handler';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyHandler = ResourceHandler<any, any>;
type AnyRecord = ResourceRecord<Record<string, unknown>, Record<string, unknown>>;

export interface CreateBody {
  properties: Record<string, unknown>;
  physical_name?: string;
  idempotency_key?: string;
  stack_id?: string;
  resource_name?: string;
}

export type ResourceAction = 'suspend' | 'resume' | 'check';

/** JSON with sorted keys: two property values are the same when these are equal. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

export function changedKeys(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => canonical(before[k] ?? null) !== canonical(after[k] ?? null)).sort();
}

interface Binding {
  handler: AnyHandler;
  heat: HeatResourceType;
  updates: Record<string, UpdateKind>;
}

export class ResourceService {
  private readonly bindings = new Map<string, Binding>();

  constructor(
    private readonly store: ResourceStore,
    types: ResourceTypes,
    handlers: AnyHandler[],
    private readonly clients: ClientFactory,
  ) {
    for (const handler of handlers) {
      const heat = types.resource_types[handler.type];
      if (!heat) throw new Error(`no type schema for ${handler.type}`);
      const updates = Object.fromEntries(
        Object.entries(heat.properties).map(([k, p]) => [k, p.update ?? 'replace']),
      );
      this.bindings.set(handler.type, { handler, heat, updates });
    }
  }

  private binding(type: string): Binding {
    const b = this.bindings.get(type);
    if (!b) throw new Error(`no handler for ${type}`);
    return b;
  }

  private async caller(ctx: RequestContext, log: Logger, requestId?: string): Promise<Caller> {
    if (!ctx.projectId) {
      throw new ApiError(
        403,
        'Forbidden',
        'a project-scoped (or trust-scoped) token is needed: resources belong to projects',
      );
    }
    // the endpoints come from the service's catalog: Keystone down is a 503
    return { ctx, clients: await upstream('the service catalog', () => this.clients(ctx, requestId)), log };
  }

  /**
   * The resource, if the caller's project owns it. Cloud admins (the admin
   * role, as OpenStack's default policies read it) reach every project's, as
   * they do in Nova and Neutron: an admin deleting a stack of another project
   * must delete its servers, not orphan them.
   */
  private async load(c: Caller, type: string, id: string): Promise<AnyRecord> {
    const r = c.ctx.isAdmin
      ? await this.store.getAnyProject<Record<string, unknown>, Record<string, unknown>>(type, id)
      : await this.store.get<Record<string, unknown>, Record<string, unknown>>(c.ctx.projectId!, type, id);
    if (!r) throw resourceNotFound(type, id);
    return r;
  }

  /** Stores an action's outcome (compare-and-set); a finished delete removes the row. */
  private async record(
    r: AnyRecord,
    action: Action,
    o: Outcome<Record<string, unknown>> | typeof GONE,
    properties?: Record<string, unknown>,
  ) {
    if (o === GONE) {
      await this.store.delete(r.id);
      return undefined;
    }
    const updated = await this.store.update(r, {
      action,
      status: o.status,
      statusReason: o.statusReason,
      ...(o.state ? { state: o.state } : {}),
      ...(properties ? { properties } : {}),
    });
    return updated;
  }

  async create(
    ctx: RequestContext,
    type: string,
    body: CreateBody,
    log: Logger,
    requestId?: string,
  ): Promise<{ resource: AnyRecord; created: boolean }> {
    const { handler, heat } = this.binding(type);
    const c = await this.caller(ctx, log, requestId);
    const broken = brokenRule(heat.rules, body.properties);
    if (broken) throw invalidProperties(broken);
    const key = body.idempotency_key ?? null;
    if (key) {
      const existing = await this.store.findByKey<Record<string, unknown>, Record<string, unknown>>(
        ctx.projectId!,
        type,
        key,
      );
      if (existing) return { resource: existing, created: false };
    }
    const physicalName =
      body.physical_name ?? `${type.split('::').pop()!.toLowerCase()}-${randomBytes(4).toString('hex')}`;
    const made = await handler.create(c, body.properties, physicalName);
    try {
      const resource = await this.store.insert({
        id: made.id,
        type,
        projectId: ctx.projectId!,
        userId: ctx.userId,
        stackId: body.stack_id ?? null,
        resourceName: body.resource_name ?? null,
        idempotencyKey: key,
        action: 'CREATE',
        status: made.status,
        statusReason: made.statusReason,
        properties: body.properties,
        state: made.state,
      });
      return { resource, created: true };
    } catch (e) {
      if (!(e instanceof DuplicateKeyError) || !key) throw e;
      // a concurrent create with the same key won: keep its resource, drop ours
      log.warn({ id: made.id, idempotency_key: key }, 'duplicate create; discarding the second resource');
      await handler
        .discard(c, made.id)
        .catch((de: unknown) => log.error({ err: de, id: made.id }, 'discarding a duplicate failed'));
      const winner = await this.store.findByKey<Record<string, unknown>, Record<string, unknown>>(
        ctx.projectId!,
        type,
        key,
      );
      if (!winner) throw e;
      return { resource: winner, created: false };
    }
  }

  /** The resource with its current action's progress (undefined: a delete finished). */
  async show(
    ctx: RequestContext,
    type: string,
    id: string,
    log: Logger,
    requestId?: string,
  ): Promise<AnyRecord | undefined> {
    const { handler } = this.binding(type);
    const c = await this.caller(ctx, log, requestId);
    const r = await this.load(c, type, id);
    if (r.status !== 'IN_PROGRESS') return r;
    const o = await handler.progress(c, r);
    if (o !== GONE && o.status === r.status && o.statusReason === r.statusReason && !o.state) return r;
    return this.record(r, r.action, o);
  }

  async list(ctx: RequestContext, type: string): Promise<AnyRecord[]> {
    if (!ctx.projectId) return [];
    return this.store.list(ctx.projectId, type);
  }

  async update(
    ctx: RequestContext,
    type: string,
    id: string,
    properties: Record<string, unknown>,
    log: Logger,
    requestId?: string,
  ): Promise<AnyRecord> {
    const { handler, heat, updates } = this.binding(type);
    const c = await this.caller(ctx, log, requestId);
    const r = await this.load(c, type, id);
    if (r.action === 'DELETE') throw conflictingState(`${type} ${id} is being deleted`);
    const broken = brokenRule(heat.rules, properties);
    if (broken) throw invalidProperties(broken);
    const changed = changedKeys(r.properties, properties);
    const replacing = changed.filter((k) => updates[k] === 'replace');
    if (replacing.length) {
      throw new ApiError(
        409,
        'UpdateReplace',
        `${replacing.join(', ')} cannot change in place; the resource must be replaced (Heat does so by itself)`,
      );
    }
    if (!changed.length)
      return (await this.store.update(r, { action: 'UPDATE', status: 'COMPLETE', statusReason: '' })) ?? r;
    const o = await handler.update(c, r, properties, changed);
    return (await this.record(r, 'UPDATE', o, properties)) ?? r;
  }

  async remove(
    ctx: RequestContext,
    type: string,
    id: string,
    log: Logger,
    requestId?: string,
  ): Promise<AnyRecord> {
    const { handler } = this.binding(type);
    const c = await this.caller(ctx, log, requestId);
    const r = await this.load(c, type, id);
    const o = await handler.delete(c, r);
    const after = await this.record(r, 'DELETE', o);
    return after ?? { ...r, action: 'DELETE', status: 'COMPLETE', statusReason: '' };
  }

  async act(
    ctx: RequestContext,
    type: string,
    id: string,
    action: ResourceAction,
    log: Logger,
    requestId?: string,
  ): Promise<AnyRecord> {
    const { handler } = this.binding(type);
    const c = await this.caller(ctx, log, requestId);
    const r = await this.load(c, type, id);
    if (r.action === 'DELETE') throw conflictingState(`${type} ${id} is being deleted`);
    if (action === 'check') {
      const o = await handler.check(c, r);
      // a check reports; it does not change what the last real action left
      return { ...r, action: 'CHECK', status: o.status, statusReason: o.statusReason };
    }
    const o = action === 'suspend' ? await handler.suspend(c, r) : await handler.resume(c, r);
    return (await this.record(r, action === 'suspend' ? 'SUSPEND' : 'RESUME', o)) ?? r;
  }

  async attribute(
    ctx: RequestContext,
    type: string,
    id: string,
    name: string,
    log: Logger,
    requestId?: string,
  ): Promise<unknown> {
    const { handler, heat } = this.binding(type);
    if (!(name in heat.attributes))
      throw new ApiError(404, 'AttributeNotFound', `${type} has no attribute ${name}`);
    const c = await this.caller(ctx, log, requestId);
    const r = await this.load(c, type, id);
    return handler.attribute(c, r, name);
  }

  /** The names of a project's volumes (for containers mounting them by id). */
  async volumeNames(projectId: string, type: string, ids: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const id of ids) {
      const r = await this.store.get<Record<string, unknown>, { name?: string }>(projectId, type, id);
      if (r?.state.name) out.set(id, r.state.name);
    }
    return out;
  }

  /** Ids of a project's containers mounting a volume. */
  async containersMounting(projectId: string, containerType: string, volumeId: string): Promise<string[]> {
    const rows = await this.store.list<Record<string, unknown>, { volumeIds?: string[] }>(
      projectId,
      containerType,
    );
    return rows.filter((r) => r.state.volumeIds?.includes(volumeId)).map((r) => r.id);
  }
}
