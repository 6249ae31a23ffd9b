// The container's stdin/stdout/stderr without a tty: blocking, whatever Node does with its own.
// libuv sets O_NONBLOCK on a pipe or socket when Node opens its stdio streams, and O_NONBLOCK
// belongs to the open file description, which a child that simply inherits fd 0/1/2 shares: the
// container's `head` then gets EAGAIN as soon as a slow reader's pipe is full, and its `cat`
// EAGAIN from a slow writer. So the container gets its own descriptions of the same pipes.
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { isatty } from 'node:tty';
import { setBlocking } from '../../../native/libc';
import { cliIo } from './io';

export interface ContainerStdio {
  /** fds of this process that become the container's 0, 1, 2 (RunOptions.stdio). */
  fds: [number, number, number];
  /** Closes the fresh descriptions (once the container holds them). */
  close(): void;
}

export function containerStdio(): ContainerStdio {
  const io = cliIo();
  // Node makes its stdio streams lazily, setting O_NONBLOCK then: make them now, before the
  // flags below are settled, so nothing changes them while the container runs. (Served, the
  // descriptors are the client's, passed to the server: no stream of Node's is made on them.)
  if (!io.served) void process.stdin, void process.stdout, void process.stderr;
  const opened: number[] = [];
  const fds = io.stdioFds.map((fd) => {
    const fresh = ownDescription(fd);
    if (fresh !== fd) opened.push(fresh);
    return fresh;
  }) as [number, number, number];
  return { fds, close: () => opened.forEach((fd) => closeSync(fd)) };
}

/** fd itself, or a new open file description of the same pipe/FIFO/tty, blocking. */
function ownDescription(fd: number): number {
  let st;
  try {
    st = fstatSync(fd);
  } catch {
    return fd; // closed: the container gets it closed too
  }
  // Regular files and devices such as /dev/null: O_NONBLOCK changes nothing there, and a shared
  // description is what keeps one offset for `>> log` or `< input`.
  if (!st.isFIFO() && !st.isSocket() && !isatty(fd)) return fd;
  if (!st.isSocket()) {
    try {
      // open(/proc/self/fd/N) makes a new description of the same pipe. O_NONBLOCK for the open
      // itself (a named FIFO without a partner would wait), cleared right after.
      const fresh = openSync(`/proc/self/fd/${fd}`, accessMode(fd) | constants.O_NONBLOCK | constants.O_NOCTTY);
      if (fresh > 2) {
        setBlocking(fresh);
        return fresh;
      }
      closeSync(fresh); // one of 0-2 was closed and got reused: keep the plain inheritance
    } catch {
      // EACCES: a pipe made by another user (e.g. through runuser) is mode 0600; fall through
    }
  }
  // Sockets (Node's spawn gives socketpairs) cannot be reopened. Their shared description is made
  // blocking: this process writes little while a container runs and never reads stdin without a
  // tty, so a blocking write here costs a short wait at worst, while lost output is for good.
  setBlocking(fd);
  return fd;
}

/** O_RDONLY, O_WRONLY or O_RDWR, as fd was opened (the flags line of /proc/self/fdinfo). */
function accessMode(fd: number): number {
  const m = /^flags:\s*([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  return m ? parseInt(m[1], 8) & 3 : fd === 0 ? constants.O_RDONLY : constants.O_WRONLY;
}
