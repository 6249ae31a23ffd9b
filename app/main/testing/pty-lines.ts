// Realistic terminal output for byte-counting tests and the bench: a file of numbered 80-column
// lines, and what a pty must deliver for it (onlcr turns each \n into \r\n), so a reader can check
// every byte arrived, in order.
import { writeFileSync } from 'node:fs';

/** 79 bytes in the file, 80 on the pty. */
export const LINE_BYTES = 79;

export function linesText(count: number): Buffer {
  const pad = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-+=abcdefghijk';
  const out = Buffer.allocUnsafe(count * LINE_BYTES);
  for (let i = 0; i < count; i++) {
    const line = `${String(i).padStart(9, '0')} ${pad}`.slice(0, LINE_BYTES - 1) + '\n';
    out.write(line, i * LINE_BYTES, 'latin1');
  }
  return out;
}

/** Writes `count` lines to path; returns what the pty's master must read for them. */
export function writeLinesFile(path: string, count: number): Buffer {
  const text = linesText(count);
  writeFileSync(path, text);
  return onPty(text);
}

/** The text as a pty with default termios delivers it: \n → \r\n. */
export function onPty(text: Buffer): Buffer {
  return Buffer.from(text.toString('latin1').replaceAll('\n', '\r\n'), 'latin1');
}

/** Collects a stream's bytes and says where it first differs from the expected bytes (or undefined). */
export class ByteCheck {
  private readonly chunks: Buffer[] = [];
  bytes = 0;

  push(data: Buffer | string): void {
    const b = typeof data === 'string' ? Buffer.from(data) : data;
    this.chunks.push(b);
    this.bytes += b.length;
  }

  problem(expected: Buffer): string | undefined {
    const got = Buffer.concat(this.chunks);
    if (got.equals(expected)) return undefined;
    let at = 0;
    while (at < got.length && at < expected.length && got[at] === expected[at]) at++;
    const lineNo = Math.floor(at / (LINE_BYTES + 1));
    return `got ${got.length} bytes, expected ${expected.length}; first difference at byte ${at} (line ${lineNo}): ` +
      `${JSON.stringify(got.subarray(at, at + 24).toString('latin1'))} vs ${JSON.stringify(expected.subarray(at, at + 24).toString('latin1'))}`;
  }
}
