export { Failover, type FailoverOptions, type InFlight } from './runner.js';
export { spawnMethod } from './spawn.js';
