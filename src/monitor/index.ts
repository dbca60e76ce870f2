export { Monitor, type MonitorOptions, type ProcessStatus, type ResourceStatus, type SpecStateName } from './monitor.js';
export type { ProcessSpec, ResourceConfig } from './types.js';
