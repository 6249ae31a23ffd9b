// Small, allocation-light readers for /proc files of processes that may vanish mid-read.
import { closeSync, openSync, readSync } from 'node:fs';

const scratch = Buffer.alloc(64 * 1024);

/** True for the errors a process that exited (or a thread that went away) produces under /proc. */
export function isGone(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ESRCH';
}

/**
 * Reads a whole /proc file with one open and as few reads as possible.
 * Returns null when the process is gone (ENOENT/ESRCH); other errors are thrown.
 */
export function readProcFile(path: string): Buffer | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    if (isGone(e)) return null;
    throw e;
  }
  try {
    const chunks: Buffer[] = [];
    for (;;) {
      const n = readSync(fd, scratch, 0, scratch.length, null);
      if (n === 0) break;
      chunks.push(Buffer.from(scratch.subarray(0, n)));
    }
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
  } catch (e) {
    if (isGone(e)) return null;
    throw e;
  } finally {
    closeSync(fd);
  }
}

export function readProcText(path: string): string | null {
  const b = readProcFile(path);
  return b === null ? null : b.toString('utf8');
}
