// Worker thread entry (namespace-thread.ts): enters another process's namespace for one call and
// comes back. setns moves only the calling thread: a NETLINK_ROUTE socket made in a network
// namespace keeps it for its whole life (the descriptor is the process's, so the thread that asked
// reads the dump on it from its own namespace), and the hostname read in a UTS namespace is that
// namespace's. This thread does nothing else; if it cannot go back it exits, so it is never used
// again in a namespace not its own.
import { hostname } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { close, netlinkSocket, open, setns } from '../../../native/libc';
import { CLONE } from '../../../native/constants';
import { NETLINK_ROUTE } from './network/netlink';

export type NamespaceRequest = { seq: number; pid: number; kind: 'route-socket' | 'hostname' };
export type NamespaceReply = { seq: number; fd?: number; hostname?: string; error?: string };

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

/** fn run in the `type` namespace of pid; undone is what to release if this thread cannot go back. */
function within<T>(pid: number, type: Type, fn: () => T, undone?: (value: T) => void): T {
  const { flag, name } = TYPES[type];
  const target = open(`/proc/${pid}/ns/${type}`, O_RDONLY_CLOEXEC, 'O_RDONLY|O_CLOEXEC');
  try {
    setns(target, flag, name);
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
  } finally {
    close(target);
  }
}

parentPort?.on('message', (req: NamespaceRequest) => {
  let reply: NamespaceReply;
  try {
    reply = req.kind === 'hostname'
      ? { seq: req.seq, hostname: within(req.pid, 'uts', hostname) }
      : { seq: req.seq, fd: within(req.pid, 'net', () => netlinkSocket(NETLINK_ROUTE, 'NETLINK_ROUTE'), close) };
  } catch (e) {
    reply = { seq: req.seq, error: (e as Error).message };
  }
  parentPort!.postMessage(reply);
});
