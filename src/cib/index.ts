export { readCibConfig, parseCibConfig, isProcessNvpair, type CibConfig, type CibNode, type CibFormat } from './config.js';
export { bumpFailCount, bumpText, readFailCount, resetFailCount, failCountName, statusNvpairId, type FailTarget } from './failcount.js';
export { withCibLock, writeFileAtomic } from './write.js';
