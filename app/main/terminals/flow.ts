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

  /** A partial character is waiting for its rest. */
  get holding(): boolean {
    return this.pending.length > 0;
  }

  flush(): Buffer {
    const rest = this.pending;
    this.pending = Buffer.alloc(0);
    return rest;
  }
}

/** A partial character held this long with nothing after it goes out as it is (U+FFFD): a lone byte never waits for more. */
export const UTF8_SILENCE_MS = 40;

export interface FlowOptions {
  /** Forward one chunk: decoded text, its UTF-8 length, and its byte offset in the stream. */
  emit(data: string, bytes: number, offset: number): void;
  pause(): void;
  resume(): void;
  maxChunk?: number;
  highWatermark?: number;
  lowWatermark?: number;
  /** Readers that exist from the start (each acks on its own); default one unnamed reader, ''. */
  readers?: string[];
  /** How long a partial UTF-8 sequence waits for its rest before it is flushed; 0 never flushes early. */
  utf8SilenceMs?: number;
}

/**
 * One output stream with flow control per reader: every chunk counts against each attached reader
 * until that reader acks it; the pty is paused while any reader is HIGH behind and resumed once
 * all are within LOW. A reader that leaves (detach) no longer holds the stream; with no reader
 * at all nothing pauses (the output goes to the scrollback only).
 */
export class FlowControl {
  private readonly splitter = new Utf8Splitter();
  private readonly maxChunk: number;
  private readonly high: number;
  private readonly low: number;
  private readonly silenceMs: number;
  private readonly readers = new Map<string, number>();
  private silence: NodeJS.Timeout | undefined;
  private isPaused = false;
  private written = 0;

  constructor(private readonly opts: FlowOptions) {
    this.maxChunk = opts.maxChunk ?? MAX_CHUNK;
    this.high = opts.highWatermark ?? HIGH_WATERMARK;
    this.low = opts.lowWatermark ?? LOW_WATERMARK;
    this.silenceMs = opts.utf8SilenceMs ?? 0;
    if (!(this.low < this.high)) throw new Error('flow control: the low watermark must be below the high one');
    for (const r of opts.readers ?? ['']) this.readers.set(r, 0);
  }

  /** Bytes the slowest reader has not acknowledged. */
  get unacked(): number {
    let max = 0;
    for (const n of this.readers.values()) max = Math.max(max, n);
    return max;
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
    this.awaitRest();
  }

  /**
   * A partial character waits silenceMs for its rest, counted from the last read while reading:
   * paused, the silence is this side's own (the writer is held, its next bytes wait in the
   * kernel), so it is counted again from the resume, never cutting a character the flood split.
   */
  private awaitRest(): void {
    if (this.silence) clearTimeout(this.silence);
    this.silence = undefined;
    if (this.silenceMs > 0 && this.splitter.holding && !this.isPaused) {
      this.silence = setTimeout(() => {
        this.silence = undefined;
        if (!this.isPaused) this.send(this.splitter.flush());
      }, this.silenceMs);
      this.silence.unref?.();
    }
  }

  /** The stream ended: emit whatever partial character is left (decoded as U+FFFD). */
  end(): void {
    if (this.silence) clearTimeout(this.silence);
    this.silence = undefined;
    this.send(this.splitter.flush());
  }

  ack(bytes: number, reader = ''): void {
    const n = this.readers.get(reader);
    if (n === undefined || !(bytes > 0)) return;
    this.readers.set(reader, Math.max(0, n - bytes));
    this.settle();
  }

  /** A reader starts (or starts over, re-attached): it owes acks only for chunks sent from now on. */
  attach(reader = ''): void {
    this.readers.set(reader, 0);
    this.settle();
  }

  /** A reader left: it no longer holds the stream back. */
  detach(reader: string): void {
    this.readers.delete(reader);
    this.settle();
  }

  /** The default reader took over again (re-attach): acks for chunks nobody rendered will never come. */
  reset(): void {
    this.attach('');
  }

  private settle(): void {
    const behind = this.unacked;
    if (this.isPaused && behind <= this.low) {
      this.isPaused = false;
      this.opts.resume();
      this.awaitRest();
    } else if (!this.isPaused && behind >= this.high) {
      this.isPaused = true;
      this.opts.pause();
    }
  }

  private send(buf: Buffer): void {
    if (buf.length === 0) return;
    for (const chunk of chunkUtf8(buf, this.maxChunk)) {
      const offset = this.written;
      this.written += chunk.length;
      for (const [r, n] of this.readers) this.readers.set(r, n + chunk.length);
      this.opts.emit(chunk.toString('utf8'), chunk.length, offset);
    }
    if (!this.isPaused && this.unacked >= this.high) {
      this.isPaused = true;
      this.opts.pause();
    }
  }
}
