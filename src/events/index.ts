export { EventBus, nowUs } from './bus.js';
export type * from './types.js';
