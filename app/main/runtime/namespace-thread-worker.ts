// Worker thread entry (namespace-thread.ts): enters another process's namespace for one call and
// comes back, or makes a new network namespace and comes back. setns and unshare move only the
// calling thread: a NETLINK_ROUTE socket made in a network namespace keeps it for its whole life
// (the descriptor is the process's, so the thread that asked reads the dump on it from its own
// namespace), and the hostname read in a UTS namespace is that namespace's. This thread does
// nothing else; if it cannot go back it exits, so it is never used again in a namespace not its own.
import { hostname } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { close, netlinkSocket, open, setns, unshare } from '../../../native/libc';
import { CLONE } from '../../../native/constants';
import { NETLINK_ROUTE } from './network/netlink';
import { makeSpare, type NewNetns, type SpareMade } from './spare-make';

export type NamespaceRequest =
  | { seq: number; pid: number; kind: 'route-socket' | 'hostname' }
  | { seq: number; id: string; kind: 'spare-network' };
export type NamespaceReply = { seq: number; fd?: number; hostname?: string; spare?: SpareMade; error?: string };

const O_RDONLY_CLOEXEC = 0o2000000;
const TYPES = {
  net: { flag: CLONE.NEWNET, name: 'CLONE_NEWNET' },
  uts: { flag: CLONE.NEWUTS, name: 'CLONE_NEWUTS' },
} as const;
type Type = keyof typeof TYPES;
/** This thread's own namespaces, held open to come back to (a path could name another by then). */
const home: Record<Type, number> = {
  net: open('/proc/thread-self/ns/net', O_RDONLY_CLOEXEC, 'O_RDONLY|O_CLOEXEC'),
  uts: open('/proc/thread-self/ns/uts', O_RDONLY_CLOEXEC, 'O_RDONLY|O_CLOEXEC'),
};

/**
 * fn run in the `type` namespace `enter` moved this thread into, then back home; undone is what to
 * release if this thread cannot go back (it then exits).
 */
function awayFromHome<T>(type: Type, enter: () => void, fn: () => T, undone?: (value: T) => void): T {
  const { flag, name } = TYPES[type];
  enter();
  let value: T | undefined;
  let failure: unknown;
  let ok = false;
  try {
    value = fn();
    ok = true;
  } catch (e) {
    failure = e;
  }
  try {
    setns(home[type], flag, name);
  } catch (e) {
    if (ok) undone?.(value as T);
    parentPort?.postMessage({ seq: -1, error: `could not return to its own ${type} namespace: ${(e as Error).message}` });
    process.exit(1);
  }
  if (!ok) throw failure;
  return value as T;
}

/** fn run in the `type` namespace of pid. */
function within<T>(pid: number, type: Type, fn: () => T, undone?: (value: T) => void): T {
  const { flag, name } = TYPES[type];
  const target = open(`/proc/${pid}/ns/${type}`, O_RDONLY_CLOEXEC, 'O_RDONLY|O_CLOEXEC');
  try {
    return awayFromHome(type, () => setns(target, flag, name), fn, undone);
  } finally {
    close(target);
  }
}

/** A new network namespace, made by this thread's unshare and left again: its fd and a route socket in it. */
function newNetns(): NewNetns {
  const closeAll = (ns: Partial<NewNetns>): void => {
    if (ns.routeFd !== undefined) close(ns.routeFd);
    if (ns.netnsFd !== undefined) close(ns.netnsFd);
  };
  return awayFromHome('net', () => unshare(CLONE.NEWNET, 'CLONE_NEWNET'), () => {
    const ns: Partial<NewNetns> = {};
    try {
      ns.netnsFd = open('/proc/thread-self/ns/net', O_RDONLY_CLOEXEC, 'O_RDONLY|O_CLOEXEC');
      ns.routeFd = netlinkSocket(NETLINK_ROUTE, 'NETLINK_ROUTE');
      return ns as NewNetns;
    } catch (e) {
      closeAll(ns);
      throw e;
    }
  }, closeAll);
}

function answer(req: NamespaceRequest): NamespaceReply {
  switch (req.kind) {
    case 'hostname':
      return { seq: req.seq, hostname: within(req.pid, 'uts', hostname) };
    case 'route-socket':
      return { seq: req.seq, fd: within(req.pid, 'net', () => netlinkSocket(NETLINK_ROUTE, 'NETLINK_ROUTE'), close) };
    case 'spare-network':
      return { seq: req.seq, spare: makeSpare(req.id, newNetns) };
  }
}

parentPort?.on('message', (req: NamespaceRequest) => {
  let reply: NamespaceReply;
  try {
    reply = answer(req);
  } catch (e) {
    reply = { seq: req.seq, error: (e as Error).message };
  }
  parentPort!.postMessage(reply);
});
