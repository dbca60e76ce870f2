/**
 * The one thread that waits for watched processes to exit: it blocks in poll(2) over every
 * pidfd plus a wake-up eventfd. The main thread hands it pidfds through a MessagePort and writes
 * the eventfd to wake it; the worker tells the main thread which ones became readable (the
 * process exited) and closes them. It is the only closer of the pidfds it was handed.
 */
import { closeSync, readSync } from 'node:fs';
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { loadLibc } from './libc.js';

export type WorkerCommand = { op: 'add'; id: number; fd: number } | { op: 'remove'; id: number } | { op: 'quit' };
export type WorkerReport = { exited: number[] } | { error: string };

const { wakeFd, port } = workerData as { wakeFd: number; port: MessagePort };
const libc = loadLibc();
const POLLIN = 1;
const EINTR = 4;

const watched = new Map<number, number>(); // id → pidfd
const drain = Buffer.alloc(8);
let quit = false;

function handle(cmd: WorkerCommand) {
  if (cmd.op === 'add') watched.set(cmd.id, cmd.fd);
  else if (cmd.op === 'remove') {
    const fd = watched.get(cmd.id);
    if (fd !== undefined) {
      watched.delete(cmd.id);
      closeSync(fd);
    }
  } else quit = true;
}

let fds = Buffer.alloc(8 * 64);
let ids: number[] = [];
while (!quit) {
  const n = watched.size + 1;
  if (fds.length < 8 * n) fds = Buffer.alloc(8 * n * 2);
  fds.fill(0, 0, 8 * n);
  fds.writeInt32LE(wakeFd, 0);
  fds.writeInt16LE(POLLIN, 4);
  ids = [];
  let i = 1;
  for (const [id, fd] of watched) {
    fds.writeInt32LE(fd, 8 * i);
    fds.writeInt16LE(POLLIN, 8 * i + 4);
    ids.push(id);
    i++;
  }
  const r = libc.poll(fds, n, -1);
  if (r < 0) {
    const errno = libc.errno();
    if (errno === EINTR) continue;
    parentPort!.postMessage({ error: `poll failed with errno ${errno}` } satisfies WorkerReport);
    break;
  }
  const exited: number[] = [];
  for (let k = 1; k < n; k++) {
    if (fds.readInt16LE(8 * k + 6) === 0) continue;
    const id = ids[k - 1]!;
    const fd = watched.get(id);
    if (fd === undefined) continue;
    watched.delete(id);
    closeSync(fd);
    exited.push(id);
  }
  if (exited.length) parentPort!.postMessage({ exited } satisfies WorkerReport);
  if (fds.readInt16LE(6) !== 0) {
    try {
      readSync(wakeFd, drain, 0, 8, null);
    } catch {
      /* EAGAIN: already drained */
    }
    for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) handle(m.message as WorkerCommand);
  }
}
for (const fd of watched.values()) closeSync(fd);
watched.clear();
port.close();
