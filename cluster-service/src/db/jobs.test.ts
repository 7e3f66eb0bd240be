import { openDatabase } from '@berth/service-kit';

import { JobRepo } from './jobs';
import { migrations } from './migrations';
import type { DB } from './schema';

async function repo() {
  const h = await openDatabase<DB>('sqlite://', { migrations: migrations('sqlite') });
  return { jobs: new JobRepo(h.db), close: () => h.close() };
}

const LEASE = 10_000;

describe('JobRepo (durable conductor jobs)', () => {
  it('hands a pending job to one conductor only', async () => {
    const { jobs, close } = await repo();
    const id = await jobs.enqueue({ clusterId: 'c1', action: 'create', deadline: null });
    const a = await jobs.claim('host-a', 1000, LEASE, 5, new Set());
    const b = await jobs.claim('host-b', 1000, LEASE, 5, new Set());
    expect(a.map((j) => j.uuid)).toEqual([id]);
    expect(b).toEqual([]);
    expect(await jobs.state(id)).toBe('running');
    await close();
  });

  it('runs one job per cluster at a time, in order', async () => {
    const { jobs, close } = await repo();
    const first = await jobs.enqueue({ clusterId: 'c1', action: 'create', deadline: null });
    await jobs.enqueue({ clusterId: 'c1', action: 'resize', deadline: null });
    const other = await jobs.enqueue({ clusterId: 'c2', action: 'create', deadline: null });
    const got = await jobs.claim('host-a', 1000, LEASE, 5, new Set());
    expect(got.map((j) => j.uuid).sort()).toEqual([first, other].sort());
    await jobs.finish(first, 'succeeded', null);
    const next = await jobs.claim('host-a', 1100, LEASE, 5, new Set(got.map((j) => j.uuid)));
    expect(next.map((j) => j.action)).toEqual(['resize']);
    await close();
  });

  it('lets another conductor take over a job whose lease ran out, and the old owner notices', async () => {
    const { jobs, close } = await repo();
    const id = await jobs.enqueue({ clusterId: 'c1', action: 'create', deadline: null });
    await jobs.claim('host-a', 1000, LEASE, 5, new Set());
    expect(await jobs.claim('host-b', 1000 + LEASE - 1, LEASE, 5, new Set())).toEqual([]);
    const taken = await jobs.claim('host-b', 1000 + LEASE + 1, LEASE, 5, new Set());
    expect(taken.map((j) => [j.uuid, j.lease_owner])).toEqual([[id, 'host-b']]);
    expect(await jobs.renew(id, 'host-a', 99_999)).toBe(false);
    expect(await jobs.renew(id, 'host-b', 99_999)).toBe(true);
    await close();
  });

  it('gives a restarted host its own jobs back at once', async () => {
    const { jobs, close } = await repo();
    const id = await jobs.enqueue({ clusterId: 'c1', action: 'create', deadline: null });
    await jobs.claim('host-a', 1000, LEASE, 5, new Set());
    // same host name, new process (nothing in its running set), lease still valid
    const again = await jobs.claim('host-a', 2000, LEASE, 5, new Set());
    expect(again.map((j) => [j.uuid, j.attempts])).toEqual([[id, 1]]);
    await close();
  });

  it('cancels what a delete supersedes: pending at once, running at its next step', async () => {
    const { jobs, close } = await repo();
    const running = await jobs.enqueue({ clusterId: 'c1', action: 'create', deadline: null });
    await jobs.claim('host-a', 1000, LEASE, 5, new Set());
    const pending = await jobs.enqueue({ clusterId: 'c1', action: 'resize', deadline: null });
    await jobs.cancelLive('c1');
    expect(await jobs.state(running)).toBe('cancelling');
    expect(await jobs.state(pending)).toBe('cancelled');
    expect((await jobs.live('c1')).map((j) => j.uuid)).toEqual([running]);
    await close();
  });
});
