// `locker logs`: a detached container's output as its monitor logged it, all of it or the last N
// lines, and followed while the container runs (across the monitor's rotation of the log).
import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { monitorFiles } from './files';

function readRest(fd: number): Buffer {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(65536);
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, null);
    if (n === 0) return Buffer.concat(chunks);
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
}

function readIfThere(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch {
    return Buffer.alloc(0);
  }
}

/** The last n lines (a last line without its newline counts as one). */
export function lastLines(buf: Buffer, n: number): Buffer {
  if (n <= 0) return Buffer.alloc(0);
  let end = buf.length;
  if (end > 0 && buf[end - 1] === 0x0a) end--;
  let at = end;
  for (let seen = 0; at > 0; at--) {
    if (buf[at - 1] === 0x0a && ++seen === n) break;
  }
  return buf.subarray(at);
}

export interface LogOptions {
  tail?: number;
  follow?: boolean;
  /** While following: true once the container has ended (its monitor wrote the exit file). */
  finished?: () => boolean;
  /** How often a follower looks for new output. */
  pollMs?: number;
}

/** Writes the log to out; with follow, keeps writing new output until the container has ended. */
export async function streamLog(dir: string, out: (chunk: Buffer) => void, opts: LogOptions = {}): Promise<void> {
  const files = monitorFiles(dir);
  let fd: number;
  try {
    fd = openSync(files.log, 'r');
  } catch {
    return; // the container never wrote (or was not detached)
  }
  try {
    // Opened before the old part is read: a rotation meanwhile can repeat output, never lose it.
    const first = Buffer.concat([readIfThere(files.oldLog), readRest(fd)]);
    out(opts.tail === undefined ? first : lastLines(first, opts.tail));
    if (!opts.follow) return;
    for (;;) {
      const done = opts.finished?.() ?? true;
      const more = readRest(fd);
      if (more.length) out(more);
      let rotated = false;
      try {
        rotated = statSync(files.log).ino !== fstatSync(fd).ino;
      } catch {
        // between the monitor's rename and its new log: look again next time
      }
      if (rotated) {
        const rest = readRest(fd);
        if (rest.length) out(rest);
        closeSync(fd);
        fd = openSync(files.log, 'r');
        continue;
      }
      if (done) return;
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 100));
    }
  } finally {
    closeSync(fd);
  }
}
