export { HttpApi, checkHttpOptions, parseListen, isLoopback, view, ERR_HTTP_LISTEN } from './server.js';
export type { HttpDeps, HttpOptions } from './server.js';
export { ERR_HTTP_BAD_QUERY, ERR_HTTP_NOT_FOUND, ERR_HTTP_UNAUTHORIZED, MAX_LIMIT } from './query.js';
