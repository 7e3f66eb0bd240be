// Where a container's current action stands, read from Nova's view of its
// server. Nova sets the task state synchronously when it accepts an action
// (rebuild, suspend, resume), so "the target status and no task" is never
// read from before the action started.

import type { Server } from '@berth/openstack-clients';

import type { Action, Status } from '../db/resource-store';

export interface Progress {
  status: Status;
  statusReason: string;
}

const inProgress = (why: string): Progress => ({ status: 'IN_PROGRESS', statusReason: why });
const complete = (why = ''): Progress => ({ status: 'COMPLETE', statusReason: why });

export function faultOf(s: Server): string {
  const f = s.fault;
  return f?.message ? f.message : `the server went ${s.status}`;
}

export function serverProgress(action: Action, s: Server): Progress {
  const task = s['OS-EXT-STS:task_state'] ?? null;
  if (s.status === 'ERROR' && !task) return { status: 'FAILED', statusReason: faultOf(s) };
  if (task) return inProgress(`Nova: ${s.status}, ${task}`);
  switch (action) {
    case 'CREATE':
    case 'UPDATE':
    case 'RESUME':
      // SHUTOFF: the container ran and its process exited (restart policy no), as `docker run` of a job
      if (s.status === 'ACTIVE') return complete();
      if (s.status === 'SHUTOFF') return complete('the container process exited (server SHUTOFF)');
      return inProgress(`Nova: ${s.status}`);
    case 'SUSPEND':
      return s.status === 'SUSPENDED' ? complete() : inProgress(`Nova: ${s.status}`);
    default:
      return inProgress(`Nova: ${s.status}`);
  }
}
