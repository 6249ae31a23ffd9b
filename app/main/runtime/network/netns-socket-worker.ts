// Worker thread entry: makes NETLINK_ROUTE sockets inside other processes' network namespaces.
// setns(CLONE_NEWNET) moves only the calling thread, and a socket keeps the namespace it was made
// in for its whole life; the descriptor is the process's, so the thread that asked reads the dump
// on it from its own namespace. This thread does nothing else: it enters, makes the socket, and
// goes back at once. If it cannot go back it exits, so it is never used again in a namespace not its own.
import { parentPort } from 'node:worker_threads';
import { close, netlinkSocket, open, setns } from '../../../../native/libc';
import { CLONE } from '../../../../native/constants';
import { NETLINK_ROUTE } from './netlink';

export type NetnsSocketRequest = { seq: number; pid: number };
export type NetnsSocketReply = { seq: number; fd?: number; error?: string };

const O_RDONLY_CLOEXEC = 0o2000000;
/** This thread's own namespace, held open to come back to (the path could name another by then). */
const home = open('/proc/thread-self/ns/net', O_RDONLY_CLOEXEC, 'O_RDONLY|O_CLOEXEC');

function socketIn(pid: number): number {
  const target = open(`/proc/${pid}/ns/net`, O_RDONLY_CLOEXEC, 'O_RDONLY|O_CLOEXEC');
  try {
    setns(target, CLONE.NEWNET, 'CLONE_NEWNET');
    let fd: number | undefined;
    let failure: unknown;
    try {
      fd = netlinkSocket(NETLINK_ROUTE, 'NETLINK_ROUTE');
    } catch (e) {
      failure = e;
    }
    try {
      setns(home, CLONE.NEWNET, 'CLONE_NEWNET');
    } catch (e) {
      if (fd !== undefined) close(fd);
      parentPort?.postMessage({ seq: -1, error: `could not return to its own network namespace: ${(e as Error).message}` });
      process.exit(1);
    }
    if (fd === undefined) throw failure;
    return fd;
  } finally {
    close(target);
  }
}

parentPort?.on('message', (req: NetnsSocketRequest) => {
  let reply: NetnsSocketReply;
  try {
    reply = { seq: req.seq, fd: socketIn(req.pid) };
  } catch (e) {
    reply = { seq: req.seq, error: (e as Error).message };
  }
  parentPort!.postMessage(reply);
});
