// A client of a monitor's attach socket (native/src/monitor.c): the container's output as it comes,
// typing and resizes as frames. Shaped as a TerminalHandle, so `locker attach` and the app's
// terminal pane can use it like the pty of a container they started themselves.
import { connect, type Socket } from 'node:net';
import { LockerError } from '../errors';
import type { TerminalHandle } from '../handles';

export interface AttachedTerminal extends TerminalHandle {
  /** Resolves when the monitor ends the connection (the container has exited) or close() was called. */
  ended: Promise<void>;
}

function frame(type: 'i' | 'w', body: Buffer): Buffer {
  const head = Buffer.from([type.charCodeAt(0), body.length >> 8, body.length & 0xff]);
  return Buffer.concat([head, body]);
}

/** Connects to the socket; a refused or missing one means the container is not running. */
export function attachToMonitor(socketPath: string, name: string): Promise<AttachedTerminal> {
  return new Promise((resolve, reject) => {
    const sock: Socket = connect(socketPath);
    sock.once('error', (e: NodeJS.ErrnoException) =>
      reject(new LockerError(`cannot attach to ${name}: ${e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? 'it is not running (see locker ps -a, locker logs)' : e.message}`)));
    sock.once('connect', () => {
      sock.removeAllListeners('error');
      sock.on('error', () => undefined);
      const listeners = new Set<(d: Buffer) => void>();
      sock.on('data', (d: Buffer) => {
        for (const l of listeners) l(d);
      });
      const ended = new Promise<void>((done) => sock.once('close', () => done()));
      resolve({
        ended,
        onData(l) {
          listeners.add(l);
          return () => listeners.delete(l);
        },
        write(data) {
          const bytes = typeof data === 'string' ? Buffer.from(data) : data;
          for (let off = 0; off < bytes.length; off += 4096) sock.write(frame('i', bytes.subarray(off, off + 4096)));
        },
        resize(cols, rows) {
          if (!Number.isInteger(cols) || !Number.isInteger(rows) || cols <= 0 || rows <= 0 || cols > 65535 || rows > 65535) return;
          const body = Buffer.alloc(4);
          body.writeUInt16BE(cols, 0);
          body.writeUInt16BE(rows, 2);
          sock.write(frame('w', body));
        },
        pause: () => sock.pause(),
        resume: () => sock.resume(),
        close: () => sock.destroy(),
      });
    });
  });
}
