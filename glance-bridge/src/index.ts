// @berth/glance-bridge: an OCI Distribution v1.1 registry on Glance. The
// daemon is cli/main.ts; these exports let tests and tools embed it.
export { createBridge, openCore, dbUrl, SERVICE_NAME } from './app';
export type { Bridge } from './app';
export { bridgeSpec } from './config';
export type { BridgeConfig } from './config';
export { BOOT_PROPS } from './core/boot-images';
export { collectGarbage } from './core/gc';
export type { GcReport } from './core/gc';
export { STORE_PROPS } from './storage/glance';
