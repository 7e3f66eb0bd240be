/**
 * How Nova instances map to Docker objects. Containers carry the instance
 * uuid in a label, so the agent rebuilds its whole view from dockerd at start
 * and never keeps a second source of truth; names are derived, not stored.
 */
export const LABELS = {
  instanceUuid: 'org.openstack.nova.instance-uuid',
  instanceName: 'org.openstack.nova.instance-name',
  projectId: 'org.openstack.project-id',
  userId: 'org.openstack.user-id',
  /** sandbox (holds the network namespace) or workload (the user's process) */
  role: 'io.berth.role',
  host: 'io.berth.host',
} as const;

export type Role = 'sandbox' | 'workload';

export const containerName = (uuid: string, role: Role) =>
  role === 'workload' ? `nova-${uuid}` : `nova-${uuid}-sandbox`;

/** the local tag a Glance image is loaded under: by Glance id, never by its Glance name */
export const glanceImageRepo = (imageId: string) => `berth-glance/${imageId}`;
export const GLANCE_IMAGE_TAG = 'latest';
export const glanceImageRef = (imageId: string) => `${glanceImageRepo(imageId)}:${GLANCE_IMAGE_TAG}`;

export const snapshotRepo = (imageId: string) => `berth-snapshot/${imageId}`;
