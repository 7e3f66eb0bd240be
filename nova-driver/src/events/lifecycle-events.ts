/**
 * Tells nova-compute at once when a container changes state on its own (its
 * process exits, someone pauses it): dockerd's events become casts to the
 * shim, which emits Nova LifecycleEvents, so Nova's power-state sync runs now
 * instead of at its next 10-minute periodic. Events are advisory: a missed
 * one only delays what the periodic sync corrects anyway.
 */
import type { RpcClient } from '@berth/oslo-rpc';
import type { Logger } from '@berth/service-kit';

import type { ContainerEngine, EngineEvent } from '../docker/engine';
import { LABELS } from '../instances/naming';

/** docker action -> nova.virt.event name the shim understands */
const ACTIONS: Record<string, 'started' | 'stopped' | 'paused' | 'resumed'> = {
  start: 'started',
  die: 'stopped',
  pause: 'paused',
  unpause: 'resumed',
};

export class LifecycleEvents {
  private stopWatch?: () => void;
  private retry?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly engine: ContainerEngine,
    private readonly shim: RpcClient,
    private readonly host: string,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    if (this.stopped) return;
    try {
      this.stopWatch = await this.engine.watchEvents(
        (e) => void this.forward(e),
        (err) => this.restartLater(err),
      );
      this.logger.info('watching dockerd events');
    } catch (err) {
      this.restartLater(err as Error);
    }
  }

  private restartLater(err: Error): void {
    if (this.stopped || this.retry) return;
    this.stopWatch?.();
    this.stopWatch = undefined;
    this.logger.warn({ err: err.message }, 'dockerd event stream lost; watching again in 5 s');
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.start();
    }, 5000);
  }

  private async forward(e: EngineEvent): Promise<void> {
    const event = ACTIONS[e.action];
    if (!event || e.attributes[LABELS.role] !== 'workload' || e.attributes[LABELS.host] !== this.host) return;
    const uuid = e.attributes[LABELS.instanceUuid];
    if (!uuid) return;
    try {
      await this.shim.cast({}, 'lifecycle_event', { instance_uuid: uuid, event });
    } catch (err) {
      this.logger.warn(
        { err: (err as Error).message, instance_uuid: uuid, event },
        'could not forward lifecycle event',
      );
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.stopWatch?.();
  }
}
