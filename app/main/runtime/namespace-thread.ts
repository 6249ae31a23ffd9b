// Calls made inside another process's namespace by a worker thread (namespace-thread-worker.ts)
// that enters it for one call: a NETLINK_ROUTE socket in its network namespace (interfaces.ts),
// the hostname of its UTS namespace (inspect/hostname.ts); and a network namespace of its own made
// for a container not started yet (spare.ts). No setns ever happens on the thread that
// asks (Node's main thread must stay in the host's namespaces: every socket, spawn and lookup it
// makes assumes so). Root only: setns needs CAP_SYS_ADMIN in this process's own user namespace
// too, which a rootless owner has not (and a multi-threaded process may not join a user namespace).
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { NETLINK_ROUTE, NetlinkSocket } from './network/netlink';
import type { NamespaceReply, NamespaceRequest } from './namespace-thread-worker';
import type { SpareMade } from './spare-make';

let worker: Worker | undefined;
let seq = 0;
const waiting = new Map<number, { resolve(r: NamespaceReply): void; reject(e: Error): void }>();

function failAll(e: Error): void {
  for (const w of waiting.values()) w.reject(e);
  waiting.clear();
}

function getWorker(): Worker {
  if (worker) return worker;
  // Its descriptors are libc's, not fs.open's: untracked, so none is closed behind the thread that got it.
  const w = new Worker(join(__dirname, 'namespace-thread-worker.js'), { trackUnmanagedFds: false });
  let lastWords: string | undefined;
  w.unref(); // idle, it must not keep a CLI process alive
  w.on('message', (r: NamespaceReply) => {
    if (r.seq === -1) lastWords = r.error;
    const pending = waiting.get(r.seq);
    if (!pending) return;
    waiting.delete(r.seq);
    if (r.error === undefined) pending.resolve(r);
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
    failAll(new Error(`the namespace worker exited${lastWords ? `: ${lastWords}` : ''}`));
  });
  worker = w;
  return w;
}

type Question = NamespaceRequest extends infer R ? (R extends NamespaceRequest ? Omit<R, 'seq'> : never) : never;

function ask(question: Question): Promise<NamespaceReply> {
  const w = getWorker();
  const n = ++seq;
  const reply = new Promise<NamespaceReply>((resolve, reject) => waiting.set(n, { resolve, reject }));
  w.ref(); // while a request is out, its answer must be waited for
  w.postMessage({ ...question, seq: n } as NamespaceRequest);
  return reply;
}

/** A NETLINK_ROUTE socket in the network namespace process `pid` is in; the caller closes it. */
export async function routeSocketIn(pid: number): Promise<NetlinkSocket> {
  const { fd } = await ask({ pid, kind: 'route-socket' });
  return NetlinkSocket.adopt(fd!, NETLINK_ROUTE);
}

/** The hostname of the UTS namespace process `pid` is in. */
export async function hostnameIn(pid: number): Promise<string> {
  return (await ask({ pid, kind: 'hostname' })).hostname!;
}

/** Container `id`'s bridged network made ahead, off this thread (spare-make.ts); the caller owns it. */
export async function makeSpareNetwork(id: string): Promise<SpareMade> {
  return (await ask({ id, kind: 'spare-network' })).spare!;
}
