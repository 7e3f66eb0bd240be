import type { ContainerState } from '../docker/engine';

/** nova.compute.power_state */
export const PowerState = {
  NOSTATE: 0,
  RUNNING: 1,
  PAUSED: 3,
  SHUTDOWN: 4,
  CRASHED: 6,
  SUSPENDED: 7,
} as const;
export type PowerStateValue = (typeof PowerState)[keyof typeof PowerState];

/**
 * A workload container's state in Nova's terms. A container whose process
 * exited is SHUTDOWN, so Nova's power-state sync stops the server; a
 * suspended one is frozen like a paused one but reported SUSPENDED.
 */
export function powerStateOf(state: ContainerState, suspended: boolean): PowerStateValue {
  switch (state.status) {
    case 'running':
    case 'restarting':
      return PowerState.RUNNING;
    case 'paused':
      return suspended ? PowerState.SUSPENDED : PowerState.PAUSED;
    case 'created':
    case 'exited':
    case 'removing':
      return PowerState.SHUTDOWN;
    case 'dead':
      return PowerState.CRASHED;
    default:
      return PowerState.NOSTATE;
  }
}
