export { PROC_ROOT, listPids, readCmdline, readStat, cmdlineToString } from './reader.js';
export { parseStat, isDeadState, type ProcStat } from './stat.js';
export { Scanner, matchesPrefix, type Candidate } from './scan.js';
export { ExitWatcher, PIDFD_DISABLE_ENV, type WatchResult } from './pidfd.js';
export { processTree, listTasks, type TreeProcess, type TaskInfo } from './tree.js';
