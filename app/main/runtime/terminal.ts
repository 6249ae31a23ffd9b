// A pty pair opened before the container exists, so its init can get the slave end; the master
// stays here as a TerminalHandle.
import { closeSync } from 'node:fs';
import * as tty from 'node:tty';
import { setBlocking, setWinsize } from '../../../native/libc';
import type { TerminalHandle } from './handles';

interface PtyPair { master: number; slave: number; pty: string }
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

export function openPty(cols: number, rows: number): PtyEnds {
  const pair = native.open(cols, rows);
  // node-pty opens the slave non-blocking; programs expect a blocking terminal (dash complains).
  setBlocking(pair.slave);
  const stream = new tty.ReadStream(pair.master);
  const listeners = new Set<(data: Buffer) => void>();
  let closed = false;
  let paused = false;
  let breather: NodeJS.Timeout | undefined;
  stream.on('data', (chunk: Buffer | string) => {
    const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    for (const l of listeners) l(data);
    // A pty hands over whatever is there, often a few bytes per read under a flood. Pausing for a
    // moment after a read lets output pile up in the kernel, so the next read carries kilobytes.
    if (!paused && !breather && data.length < 16384) {
      stream.pause();
      breather = setTimeout(() => {
        breather = undefined;
        if (!paused && !closed) stream.resume();
      }, 0);
    }
  });
  // EIO means every slave end is closed: the container side is gone.
  stream.on('error', () => undefined);
  let slaveOpen = true;
  const releaseSlave = (): void => {
    if (slaveOpen) closeSync(pair.slave);
    slaveOpen = false;
  };
  const handle: TerminalHandle = {
    onData(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    write(data) {
      if (!closed) stream.write(data);
    },
    resize(cols, rows) {
      if (!closed && Number.isInteger(cols) && Number.isInteger(rows) && cols > 0 && rows > 0 && cols < 10000 && rows < 10000) {
        setWinsize(pair.master, cols, rows);
      }
    },
    pause() {
      paused = true;
      stream.pause();
    },
    resume() {
      paused = false;
      if (!breather) stream.resume();
    },
    close() {
      if (closed) return;
      closed = true;
      if (breather) clearTimeout(breather);
      releaseSlave();
      stream.destroy();
    },
  };
  return { slaveFd: pair.slave, slavePath: pair.pty, releaseSlave, handle };
}
