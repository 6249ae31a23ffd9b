// A pty pair opened before the process exists, so it can get the slave end; the master stays
// here as a TerminalHandle. A container's init gets one from the host's devpts (its own devpts is
// made after clone); `locker exec -t` gets one from the container's own devpts, as `docker exec -t`.
import { closeSync, fstatSync, openSync, readSync, statfsSync } from 'node:fs';
import * as tty from 'node:tty';
import { DEVPTS_SUPER_MAGIC, O, PTMX_DEV, RESOLVE, TIOCGPTN, TIOCGPTPEER, TIOCSPTLCK } from '../../../native/constants';
import { close, dupCloexec, ioctlArg, ioctlInt, openat2, setBlocking, setWinsize } from '../../../native/libc';
import { LockerError } from './errors';
import type { TerminalHandle } from './handles';

export interface PtyPair { master: number; slave: number; pty: string }
// node-pty's native module exposes open() but does not type it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const native = require('node-pty/build/Release/pty.node') as { open(cols: number, rows: number): PtyPair };

export interface PtyEnds {
  slaveFd: number;
  slavePath: string;
  /** Closes the parent's copy of the slave once the child holds its own. */
  releaseSlave(): void;
  handle: TerminalHandle;
}

/** A pty from the host's devpts (node-pty's openpty). */
export function openPty(cols: number, rows: number): PtyEnds {
  const pair = native.open(cols, rows);
  // node-pty opens the slave non-blocking; programs expect a blocking terminal (dash complains).
  setBlocking(pair.slave);
  return ptyEnds(pair);
}

const major = (rdev: number): number => Math.floor(rdev / 256) & 0xfff;
const minor = (rdev: number): number => (rdev & 0xff) | ((Math.floor(rdev / 0x100000) & 0xfff) << 8);

/**
 * A pty from the devpts a process (a container's init) sees at /dev/pts: its ptmx is opened from
 * here, resolved inside that process's root without following any link, checked to be a devpts
 * ptmx, unlocked, and its slave opened with TIOCGPTPEER (through the master's own mount, no path).
 * Inside, the slave is /dev/pts/N of the container's devpts: `tty` names it, `ls /dev/pts` lists it.
 * Needs ptmxmode=0666 on that devpts when the caller is not root there (rootless).
 */
export function openContainerPty(pid: number, cols: number, rows: number): PtyEnds {
  return ptyEnds(openContainerPtyPair(pid, cols, rows));
}

/** The pty pair of openContainerPty, raw (`locker oci exec` sends the master over a console socket). */
export function openContainerPtyPair(pid: number, cols: number, rows: number): PtyPair {
  const root = openSync(`/proc/${pid}/root`, O.PATH | O.DIRECTORY | O.CLOEXEC);
  let master: number;
  try {
    // non-blocking, as node-pty opens the host's: the handle reads it to the end itself (EAGAIN: nothing yet)
    master = openat2(root, 'dev/pts/ptmx', O.RDWR | O.NOCTTY | O.CLOEXEC | O.NONBLOCK, RESOLVE.IN_ROOT | RESOLVE.NO_SYMLINKS | RESOLVE.NO_MAGICLINKS,
      '{O_RDWR|O_NOCTTY|O_CLOEXEC|O_NONBLOCK, RESOLVE_IN_ROOT|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS}');
  } catch (e) {
    throw new LockerError(`cannot open the container's /dev/pts/ptmx for a terminal (${(e as Error).message}); run exec without -t`);
  } finally {
    closeSync(root);
  }
  try {
    const st = fstatSync(master);
    const fs = statfsSync(`/proc/self/fd/${master}`);
    if (!st.isCharacterDevice() || major(st.rdev) !== PTMX_DEV.major || minor(st.rdev) !== PTMX_DEV.minor || fs.type !== DEVPTS_SUPER_MAGIC) {
      throw new LockerError(`the container's /dev/pts/ptmx is not a devpts pty multiplexer (device ${major(st.rdev)}:${minor(st.rdev)}); run exec without -t`);
    }
    ioctlInt(master, TIOCSPTLCK, 'TIOCSPTLCK', 0);
    const n = ioctlInt(master, TIOCGPTN, 'TIOCGPTN');
    const slave = ioctlArg(master, TIOCGPTPEER, 'TIOCGPTPEER', O.RDWR | O.NOCTTY | O.CLOEXEC, 'O_RDWR|O_NOCTTY|O_CLOEXEC');
    setWinsize(master, cols, rows);
    return { master, slave, pty: `/dev/pts/${n}` };
  } catch (e) {
    close(master);
    throw e;
  }
}

/** What a pty's handle keeps for its first listener before it stops reading. */
export const EARLY_BYTES = 256 * 1024;
/** One read from the master: the kernel hands over at most a few KiB of a pty at a time. */
const READ_BUFFER = 64 * 1024;
/** After libuv's read, more is read at once while the kernel has it, up to this: one chunk per turn of the loop, not one per 4 KiB. */
export const BATCH_BYTES = 256 * 1024;
/** drain() reads at most this much at once: past it, something still writes (a leftover process). */
const DRAIN_LIMIT = 1024 * 1024;

const errnoCode = (e: unknown): string | undefined => (e as NodeJS.ErrnoException).code;

/**
 * The master end as a TerminalHandle. libuv reads it (epoll; no timers, no batching delay: each
 * read is delivered at once), into one buffer whose bytes are copied out, so nothing waits in a
 * stream buffer: pause() stops reading and the kernel holds the rest (the writer blocks, as on
 * any pty). libuv reads a dup of the master, because it ends the stream too early: when the slave
 * closes (POLLHUP) after a short read it reports EOF while the kernel still holds bytes (the line
 * discipline passes a pty's output on 4 KiB at a time), and a read error destroys the stream and
 * closes its fd. At either, the handle reads its own fd to the end (EIO: every slave closed and
 * nothing left) before it says the output ended.
 */
function ptyEnds(pair: PtyPair): PtyEnds {
  const master = pair.master;
  const readBuffer = Buffer.allocUnsafe(READ_BUFFER);
  const listeners = new Set<(data: Buffer) => void>();
  let closed = false;
  let ended = false;
  let paused = false;
  // What the process printed before anyone subscribed (a shell's first prompt can come before the
  // launch has returned the handle): kept for the first listener, never dropped. Past EARLY_BYTES
  // reading stops, so the kernel holds the rest and the writer blocks, as on any pty.
  let early: Buffer[] | undefined = [];
  let earlyBytes = 0;
  let heldForEarly = false;
  const drainWaiters: (() => void)[] = [];
  let endResolve!: () => void;
  const endedPromise = new Promise<void>((r) => (endResolve = r));

  const holding = (): boolean => paused || heldForEarly;
  const deliver = (data: Buffer): void => {
    if (early) {
      early.push(data);
      earlyBytes += data.length;
      if (earlyBytes >= EARLY_BYTES) heldForEarly = true;
      return;
    }
    for (const l of listeners) l(data);
  };

  const stream = new tty.ReadStream(dupCloexec(master), {
    onread: {
      buffer: readBuffer,
      // false: libuv stops reading (readStop) until resume()
      callback: (n: number) => {
        if (closed || ended) return false;
        deliver(readMore(readBuffer.subarray(0, n)));
        return !holding();
      },
    },
  } as ConstructorParameters<typeof tty.ReadStream>[1]);

  /** `first` (libuv's read) plus what the kernel has ready now, as one chunk of at most BATCH_BYTES. */
  const readMore = (first: Buffer): Buffer => {
    const batch = Buffer.allocUnsafe(BATCH_BYTES);
    let used = first.copy(batch);
    while (used < BATCH_BYTES) {
      let n: number;
      try {
        n = readSync(master, batch, used, BATCH_BYTES - used, null);
      } catch (e) {
        if (errnoCode(e) === 'EINTR') continue;
        break; // EAGAIN: nothing more yet; EIO: the end, which libuv's next read reports
      }
      if (n === 0) break;
      used += n;
    }
    // a small batch is copied out so the 256 KiB buffer is not kept alive by a few bytes
    return used < BATCH_BYTES / 4 ? Buffer.from(batch.subarray(0, used)) : batch.subarray(0, used);
  };

  /** Reads the master until the kernel has nothing more: 'eof' (EIO, every slave closed), 'empty' (EAGAIN) or 'more'. */
  const readRest = (limit: number): 'eof' | 'empty' | 'more' | 'held' => {
    let taken = 0;
    while (taken < limit) {
      if (closed) return 'eof';
      let n: number;
      try {
        n = readSync(master, readBuffer, 0, READ_BUFFER, null);
      } catch (e) {
        const code = errnoCode(e);
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') return 'empty';
        if (code === 'EINTR') continue;
        return 'eof'; // EIO: the slave side is closed and drained (or the fd is gone)
      }
      if (n === 0) return 'eof';
      taken += n;
      deliver(Buffer.from(readBuffer.subarray(0, n)));
      if (limit !== Infinity && holding()) return 'held';
    }
    return 'more';
  };

  const finish = (): void => {
    if (ended) return;
    ended = true;
    stream.destroy();
    for (const w of drainWaiters.splice(0)) w();
    endResolve();
  };
  // libuv says the stream ended (EOF, or a read error such as EIO): take what the kernel still holds.
  const libuvEnded = (): void => {
    if (ended || closed) return;
    // After the slave side has closed the remainder is bounded (the kernel's pty buffers): read it
    // all even when paused, so the end is never held back by a reader that went away.
    readRest(Infinity);
    finish();
  };
  stream.on('end', libuvEnded);
  stream.on('error', libuvEnded);

  const serveDrain = (): void => {
    if (drainWaiters.length === 0 || ended || closed || holding()) return;
    const r = readRest(DRAIN_LIMIT);
    if (r === 'eof') finish();
    else if (r !== 'held') for (const w of drainWaiters.splice(0)) w();
  };

  let slaveOpen = true;
  const releaseSlave = (): void => {
    if (slaveOpen) closeSync(pair.slave);
    slaveOpen = false;
  };
  const restart = (): void => {
    if (closed || ended || holding()) return;
    serveDrain();
    if (!ended && !holding()) stream.resume();
  };
  const handle: TerminalHandle = {
    onData(listener) {
      listeners.add(listener);
      if (early && listeners.size === 1) {
        // Delivered after the caller's onData returns (it may still be wiring itself up), before
        // any later read: a read is a macrotask, this a microtask, so the order is kept.
        queueMicrotask(() => {
          const held = early;
          early = undefined;
          if (held && held.length > 0) {
            const data = Buffer.concat(held);
            for (const l of listeners) l(data);
          }
          if (heldForEarly) {
            heldForEarly = false;
            restart();
          }
        });
      }
      return () => listeners.delete(listener);
    },
    write(data) {
      if (!closed && !ended) stream.write(data);
    },
    resize(cols, rows) {
      if (!closed && Number.isInteger(cols) && Number.isInteger(rows) && cols > 0 && rows > 0 && cols < 10000 && rows < 10000) {
        setWinsize(master, cols, rows);
      }
    },
    pause() {
      paused = true;
      if (!ended && !closed) stream.pause();
    },
    resume() {
      paused = false;
      restart();
    },
    drain() {
      if (ended || closed) return Promise.resolve();
      const done = new Promise<void>((r) => drainWaiters.push(r));
      serveDrain();
      return done;
    },
    ended: endedPromise,
    close() {
      if (closed) return;
      closed = true;
      releaseSlave();
      stream.destroy();
      closeSync(master);
      for (const w of drainWaiters.splice(0)) w();
      endResolve();
    },
  };
  stream.resume();
  return { slaveFd: pair.slave, slavePath: pair.pty, releaseSlave, handle };
}
