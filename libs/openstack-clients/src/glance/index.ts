export * from './client';
export * from './types';
// files as request or response bodies without per-chunk allocations
export { pumpFile } from './transfer';
