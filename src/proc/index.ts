export { PROC_ROOT, listPids, readCmdline, readStat, cmdlineToString } from './reader.js';
export { parseStat, isDeadState, type ProcStat } from './stat.js';
export { Scanner, matchesPrefix, type Candidate } from './scan.js';
export { processTree, listTasks, type TreeProcess, type TaskInfo } from './tree.js';
