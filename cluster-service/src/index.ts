// The cluster service as a library (tests, embedding): start it in-process,
// or build pieces of it.
export { startClusterService } from './service';
export { spec, type Config } from './config';
export type { ClusterDriver, DriverContext, StepResult, HealthReport } from './drivers/driver';
export { DriverRegistry } from './drivers/registry';
export { SwarmModeDriver } from './drivers/swarm/driver';
export { renderBootstrap } from './drivers/swarm/bootstrap';
