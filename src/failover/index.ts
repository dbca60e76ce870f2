export { Failover, type FailoverOptions, type InFlight } from './runner.js';
