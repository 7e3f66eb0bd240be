// The contract between the conductor and a cluster driver (Swarm mode today;
// Kubernetes with kubeadm and bare metal through Ironic later). The API and
// the conductor only ever talk to this interface: a new driver is one more
// folder under drivers/ and one line in the registry.
//
// How the conductor uses a driver:
//   - Every action (create, resize, upgrade, delete, rotateCa) is a
//     reconcile step: the conductor calls it again and again, each time with
//     a fresh context, until it answers { done: true }. A step must therefore
//     be idempotent and must keep its progress in the database (nodes,
//     driver_state), never in memory: after a restart, another process calls
//     the same step and has to pick up where the last one stopped.
//   - Between calls the conductor checks the deadline (create_timeout, or
//     [conductor] update_timeout/delete_timeout) and cancellation (a delete
//     cancels everything else). On timeout it fails the action with the last
//     `step` the driver reported, so that text must say what is awaited, on
//     which node, and since when.
//   - A step fails the action by throwing; the message becomes the
//     cluster's status_reason, so it names the node, the step and the error
//     (DriverError carries an optional nodegroup for `faults`).
//   - The conductor owns the cluster and nodegroup statuses (*_IN_PROGRESS,
//     *_COMPLETE, *_FAILED); drivers set addresses, versions and node rows.

import { KeystoneUnavailableError, OpenStackConnectionError, OpenStackHttpError } from 'keystone-client-ts';
import type { NeutronClient, NovaClient } from '@berth/openstack-clients';
import type { Logger } from '@berth/service-kit';

import type { components } from '../generated/api';
import type { Config } from '../config';
import type { ClusterRow, NodeGroupRow } from '../db/clusters';
import type { NodeRow } from '../db/nodes';
import type { TemplateRow } from '../db/templates';
import type { ClusterTable, NodeGroupTable, NodeTable } from '../db/schema';
import type { Insertable, Updateable } from 'kysely';

export type NodeReport = components['schemas']['NodeReport'];
export type NodeInstructions = components['schemas']['NodeInstructions'];

/** Which templates a driver serves: Glance os_distro of the image, server_type and coe of the template. */
export interface DriverTarget {
  serverType: string;
  /** an os_distro value, or '*' for any */
  os: string;
  coe: string;
}

export type StepResult = { done: true } | { done: false; step: string; retryAfterMs: number };

/** A failure whose message is fit for status_reason; `nodegroup` feeds the cluster's `faults`. */
export class DriverError extends Error {
  constructor(
    message: string,
    readonly nodegroup?: string,
  ) {
    super(message);
    this.name = 'DriverError';
  }
}

/**
 * Whether an OpenStack call failed because the cloud hiccuped (unreachable,
 * 5xx, 409 on a race, 429) rather than with a verdict: a step lets these
 * through unchanged, and the conductor retries it until the deadline.
 */
export function isCloudHiccup(e: unknown): boolean {
  if (e instanceof OpenStackConnectionError || e instanceof KeystoneUnavailableError) return true;
  if (e instanceof OpenStackHttpError) return e.status >= 500 || e.status === 409 || e.status === 429;
  return false;
}

export interface HealthReport {
  status: 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN';
  /** e.g. {"api": "ok", "node-0.Ready": "True"} */
  reason: Record<string, string>;
}

export interface ResizeRequest {
  nodegroupId: string;
  nodeCount: number;
  /** Nova server ids, node names or node uuids */
  nodesToRemove: string[];
}

export interface UpgradeRequest {
  nodegroupId: string;
  /** the template the nodegroup moves to */
  templateId: string;
  maxBatchSize: number;
}

/** The cluster CA, as drivers use it. */
export interface ClusterCa {
  certPem(): Promise<string>;
  fingerprint(): Promise<string>;
  /** signs a node's CSR as a TLS server (and client) certificate for these names */
  signServer(csrPem: string, names: { ips: string[]; dns: string[] }): Promise<string>;
}

/** Everything a driver step may read and change, rebuilt by the conductor for each call. */
export interface DriverContext {
  readonly cluster: ClusterRow;
  readonly template: TemplateRow;
  readonly nodegroups: NodeGroupRow[];
  readonly nodes: NodeRow[];
  readonly config: Config;
  readonly logger: Logger;
  /** Nova acting as the cluster's owner (through the cluster's trust, or as admin for cleanup) */
  compute(): NovaClient;
  /** filters every server listing of the cluster needs (admin cleanup lists the owner's project) */
  readonly serverFilter: { allTenants?: boolean; projectId?: string };
  /** Neutron acting as the cluster's owner (security groups; list with project_id = cluster.project_id) */
  network(): NeutronClient;
  /** a Neutron network id for a network name or id (as the cluster's owner sees networks) */
  resolveNetwork(ident: string): Promise<string>;
  /** a Glance image id for an image name or id (as the cluster's owner sees images) */
  resolveImage(ident: string): Promise<string>;
  /** the Glance image's extra properties (string values), by name or id */
  imageProperties(ident: string): Promise<Record<string, string>>;
  /** a Nova flavor id for a flavor name or id */
  resolveFlavor(ident: string): Promise<string>;
  /** a template by uuid (upgrades) */
  templateById(uuid: string): Promise<TemplateRow | undefined>;
  readonly ca: ClusterCa;
  /** the per-cluster secret nodes authenticate their reports with */
  nodeSecret(): string;
  /** where nodes send their reports */
  readonly reportUrl: string;
  seal(plain: string): string;
  open(sealed: string): string;
  now(): number;
  // persistence
  updateCluster(values: Updateable<ClusterTable>): Promise<void>;
  updateNodegroup(uuid: string, values: Updateable<NodeGroupTable>): Promise<void>;
  insertNode(row: Insertable<NodeTable>): Promise<void>;
  updateNode(uuid: string, values: Updateable<NodeTable>): Promise<void>;
  /** updates only while the node is still in `state`; false when it moved on */
  updateNodeIf(uuid: string, state: string, values: Updateable<NodeTable>): Promise<boolean>;
  deleteNode(uuid: string): Promise<void>;
}

export interface ClusterDriver {
  /** stable name, stored with each cluster (e.g. "swarm_mode") */
  readonly name: string;
  readonly provides: DriverTarget[];
  /** API-time checks of a new cluster, beyond Magnum's generic ones; throw an ApiError (400) */
  validateCluster(spec: { masterCount: number; nodeCount: number; template: TemplateRow }): void;
  create(ctx: DriverContext): Promise<StepResult>;
  resize(ctx: DriverContext, req: ResizeRequest): Promise<StepResult>;
  upgrade(ctx: DriverContext, req: UpgradeRequest): Promise<StepResult>;
  /** removes every server the cluster has (whatever state it is in) */
  delete(ctx: DriverContext): Promise<StepResult>;
  /** after the conductor replaced the CA: gets the nodes onto it */
  rotateCa(ctx: DriverContext): Promise<StepResult>;
  health(ctx: DriverContext): Promise<HealthReport>;
  /** a node's report-back (Berth's node API); the conductor has checked the cluster secret */
  nodeReport?(ctx: DriverContext, node: NodeRow, report: NodeReport): Promise<NodeInstructions>;
}
