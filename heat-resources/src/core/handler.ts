// What each resource type implements. The generic ResourceService does the
// rest (project scoping, idempotency, rules, persistence, update diffing), so
// a handler only talks to the OpenStack service behind its type.

import type { Logger } from '@berth/service-kit';
import type { RequestContext } from 'keystone-client-ts';

import type { ResourceRecord, Status } from '../db/resource-store';
import type { CallerClients } from '../openstack/clients';

export interface Caller {
  ctx: RequestContext;
  clients: CallerClients;
  log: Logger;
}

export interface Outcome<S> {
  status: Status;
  statusReason: string;
  /** the handler's new private state (undefined: unchanged) */
  state?: S;
}

export interface Created<S> extends Outcome<S> {
  id: string;
  state: S;
}

/** A finished delete: the resource is gone and its row can go. */
export const GONE = 'gone' as const;

export interface ResourceHandler<P, S> {
  readonly type: string;
  create(c: Caller, properties: P, physicalName: string): Promise<Created<S>>;
  /** Removes what create made when its row could not be stored (a concurrent duplicate). */
  discard(c: Caller, id: string): Promise<void>;
  /** Where an IN_PROGRESS action stands now. */
  progress(c: Caller, r: ResourceRecord<P, S>): Promise<Outcome<S> | typeof GONE>;
  /** Applies new properties; `changed` lists the ones that differ (none of them replace-only). */
  update(c: Caller, r: ResourceRecord<P, S>, properties: P, changed: string[]): Promise<Outcome<S>>;
  delete(c: Caller, r: ResourceRecord<P, S>): Promise<Outcome<S> | typeof GONE>;
  suspend(c: Caller, r: ResourceRecord<P, S>): Promise<Outcome<S>>;
  resume(c: Caller, r: ResourceRecord<P, S>): Promise<Outcome<S>>;
  /** Is it what Heat believes it is? COMPLETE or FAILED with the reason. */
  check(c: Caller, r: ResourceRecord<P, S>): Promise<Outcome<S>>;
  attribute(c: Caller, r: ResourceRecord<P, S>, name: string): Promise<unknown>;
}
