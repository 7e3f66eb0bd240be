export { createService, SERVICE_NAME } from './app';
export type { HeatResourcesService } from './app';
export { serviceSpec } from './config';
export type { ServiceConfig } from './config';
export { buildResourceTypes } from './types/heat-schema';
export type { ResourceTypes, HeatResourceType, HeatProperty } from './types/heat-schema';
