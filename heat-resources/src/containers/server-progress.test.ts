import type { Server } from '@berth/openstack-clients';

import { serverProgress } from './server-progress';

const server = (status: Server['status'], task: string | null = null, fault?: string): Server =>
  ({
    id: 's',
    status,
    'OS-EXT-STS:task_state': task,
    ...(fault ? { fault: { code: 500, message: fault, created: '' } } : {}),
  }) as Server;

describe('serverProgress', () => {
  it.each([
    ['CREATE', server('BUILD', 'spawning'), 'IN_PROGRESS'],
    ['CREATE', server('ACTIVE'), 'COMPLETE'],
    ['CREATE', server('SHUTOFF'), 'COMPLETE'],
    ['UPDATE', server('REBUILD', 'rebuilding'), 'IN_PROGRESS'],
    ['UPDATE', server('ACTIVE'), 'COMPLETE'],
    ['SUSPEND', server('ACTIVE', 'suspending'), 'IN_PROGRESS'],
    ['SUSPEND', server('SUSPENDED'), 'COMPLETE'],
    ['RESUME', server('SUSPENDED', 'resuming'), 'IN_PROGRESS'],
    ['RESUME', server('ACTIVE'), 'COMPLETE'],
  ] as const)('%s with %j is %s', (action, s, status) => {
    expect(serverProgress(action, s).status).toBe(status);
  });

  it("fails with Nova's fault", () => {
    expect(serverProgress('CREATE', server('ERROR', null, 'No valid host was found.'))).toEqual({
      status: 'FAILED',
      statusReason: 'No valid host was found.',
    });
    expect(serverProgress('CREATE', server('ERROR')).statusReason).toBe('the server went ERROR');
  });
});
