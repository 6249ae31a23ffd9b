// A NETLINK_ROUTE socket inside another process's network namespace, for reading it (interfaces.ts),
// made by a worker thread (netns-socket-worker.ts) that enters the namespace for one socket() call:
// no setns ever happens on the thread that asks (Node's main thread must stay in the host's
// namespace: every socket, spawn and lookup it makes assumes so). Root only: a rootless owner may
// not enter the namespace of its container's user namespace from a multi-threaded process.
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { NETLINK_ROUTE, NetlinkSocket } from './netlink';
import type { NetnsSocketReply } from './netns-socket-worker';

let worker: Worker | undefined;
let seq = 0;
const waiting = new Map<number, { resolve(fd: number): void; reject(e: Error): void }>();

function failAll(e: Error): void {
  for (const w of waiting.values()) w.reject(e);
  waiting.clear();
}

function getWorker(): Worker {
  if (worker) return worker;
  // Its descriptors are libc's, not fs.open's: untracked, so none is closed behind the thread that got it.
  const w = new Worker(join(__dirname, 'netns-socket-worker.js'), { trackUnmanagedFds: false });
  let lastWords: string | undefined;
  w.unref(); // idle, it must not keep a CLI process alive
  w.on('message', (r: NetnsSocketReply) => {
    if (r.seq === -1) lastWords = r.error;
    const pending = waiting.get(r.seq);
    if (!pending) return;
    waiting.delete(r.seq);
    if (r.fd !== undefined) pending.resolve(r.fd);
    else pending.reject(new Error(r.error));
    if (waiting.size === 0) w.unref();
  });
  w.on('error', (e) => {
    if (worker === w) worker = undefined;
    failAll(e);
  });
  // The thread that could not go back to its namespace has exited; the next request makes a new one.
  w.on('exit', () => {
    if (worker === w) worker = undefined;
    failAll(new Error(`the network namespace worker exited${lastWords ? `: ${lastWords}` : ''}`));
  });
  worker = w;
  return w;
}

/** A NETLINK_ROUTE socket in the network namespace process `pid` is in; the caller closes it. */
export function routeSocketIn(pid: number): Promise<NetlinkSocket> {
  const w = getWorker();
  const n = ++seq;
  const fd = new Promise<number>((resolve, reject) => waiting.set(n, { resolve, reject }));
  w.ref(); // while a request is out, its answer must be waited for
  w.postMessage({ seq: n, pid });
  return fd.then((got) => NetlinkSocket.adopt(got, NETLINK_ROUTE));
}
