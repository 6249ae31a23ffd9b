// Terminal flow control, after Tabby's PTYDataQueue: a process like `yes` writes far faster than
// xterm can render, and every byte we forward queues up in IPC/WebSocket buffers and the renderer
// until the UI freezes. So output goes out in bounded, UTF-8-safe chunks, and the pty is paused
// while too many bytes are unacknowledged by the renderer (xterm's write callback sends the ack).
// Pure: no Electron, no pty; the caller wires pause/resume/emit.

export const MAX_CHUNK = 100 * 1024;
export const HIGH_WATERMARK = 512 * 1024;
export const LOW_WATERMARK = 128 * 1024;

/** Length of a UTF-8 sequence from its lead byte; 0 for a continuation or invalid byte. */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/** How many trailing bytes of buf form the start of a multi-byte character that is not complete yet. */
export function incompleteTail(buf: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, buf.length); back++) {
    const b = buf[buf.length - back];
    if ((b & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead
    const need = sequenceLength(b);
    return need > back ? back : 0;
  }
  return 0;
}

/** The largest cut point ≤ limit that does not fall inside a character. */
export function utf8Boundary(buf: Uint8Array, limit: number): number {
  if (limit >= buf.length) return buf.length;
  let i = limit;
  while (i > 0 && limit - i < 3 && (buf[i] & 0xc0) === 0x80) i--;
  // Not valid UTF-8 around here (4+ continuation bytes): a cut anywhere is as good as any.
  return i === 0 || (buf[i] & 0xc0) === 0x80 ? limit : i;
}

/** Splits buf into pieces of at most max bytes, never inside a character. */
export function chunkUtf8(buf: Buffer, max = MAX_CHUNK): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  while (start < buf.length) {
    const end = start + utf8Boundary(buf.subarray(start), max);
    out.push(buf.subarray(start, end));
    start = end;
  }
  return out;
}

/** Holds back a character split across two reads so it is decoded whole. */
export class Utf8Splitter {
  private pending: Buffer = Buffer.alloc(0);

  push(data: Buffer): Buffer {
    const buf = this.pending.length ? Buffer.concat([this.pending, data]) : data;
    const tail = incompleteTail(buf);
    this.pending = tail ? Buffer.from(buf.subarray(buf.length - tail)) : Buffer.alloc(0);
    return tail ? buf.subarray(0, buf.length - tail) : buf;
  }

  flush(): Buffer {
    const rest = this.pending;
    this.pending = Buffer.alloc(0);
    return rest;
  }
}

export interface FlowOptions {
  /** Forward one chunk: decoded text, its UTF-8 length, and its byte offset in the stream. */
  emit(data: string, bytes: number, offset: number): void;
  pause(): void;
  resume(): void;
  maxChunk?: number;
  highWatermark?: number;
  lowWatermark?: number;
}

export class FlowControl {
  private readonly splitter = new Utf8Splitter();
  private readonly maxChunk: number;
  private readonly high: number;
  private readonly low: number;
  private unackedBytes = 0;
  private isPaused = false;
  private written = 0;

  constructor(private readonly opts: FlowOptions) {
    this.maxChunk = opts.maxChunk ?? MAX_CHUNK;
    this.high = opts.highWatermark ?? HIGH_WATERMARK;
    this.low = opts.lowWatermark ?? LOW_WATERMARK;
    if (!(this.low < this.high)) throw new Error('flow control: the low watermark must be below the high one');
  }

  get unacked(): number {
    return this.unackedBytes;
  }

  get paused(): boolean {
    return this.isPaused;
  }

  /** Total bytes emitted so far: the offset of the next chunk. */
  get offset(): number {
    return this.written;
  }

  push(data: Buffer): void {
    this.send(this.splitter.push(data));
  }

  /** The stream ended: emit whatever partial character is left (decoded as U+FFFD). */
  end(): void {
    this.send(this.splitter.flush());
  }

  ack(bytes: number): void {
    this.unackedBytes = Math.max(0, this.unackedBytes - bytes);
    if (this.isPaused && this.unackedBytes <= this.low) {
      this.isPaused = false;
      this.opts.resume();
    }
  }

  /** A new reader took over (re-attach): acks for chunks nobody rendered will never come. */
  reset(): void {
    this.ack(Number.MAX_SAFE_INTEGER);
  }

  private send(buf: Buffer): void {
    for (const chunk of chunkUtf8(buf, this.maxChunk)) {
      const offset = this.written;
      this.written += chunk.length;
      this.unackedBytes += chunk.length;
      this.opts.emit(chunk.toString('utf8'), chunk.length, offset);
    }
    if (!this.isPaused && this.unackedBytes >= this.high) {
      this.isPaused = true;
      this.opts.pause();
    }
  }
}
