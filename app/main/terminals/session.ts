// One live terminal as the UI sees it: a TerminalHandle behind flow control, with scrollback so a
// pane opened late (or re-opened) still shows what was printed before it attached.
import type { TerminalData, TerminalExit, TerminalInfo, TerminalSnapshot } from '../../shared/api';
import type { TerminalHandle } from '../runtime/handles';
import { FlowControl, UTF8_SILENCE_MS } from './flow';

/** Above the high watermark (plus a chunk): a pane that attaches to a new terminal late still gets all of its start. */
export const SCROLLBACK_BYTES = 1024 * 1024;
/** Holds a new terminal's output (paused at the high watermark) until its first real reader attaches. */
const FIRST_READER = '\0first';

export interface SessionSink {
  data(ev: TerminalData): void;
  exit(ev: TerminalExit): void;
}

export class TerminalSession {
  private readonly flow: FlowControl;
  private readonly scrollback: { data: string; bytes: number }[] = [];
  private scrollbackBytes = 0;
  private exitCode: number | undefined;
  private closed = false;
  private readonly unsubscribe: () => void;

  constructor(
    readonly info: TerminalInfo,
    private readonly handle: TerminalHandle,
    exited: Promise<number>,
    private readonly sink: SessionSink,
    private readonly maxScrollback = SCROLLBACK_BYTES,
  ) {
    this.flow = new FlowControl({
      emit: (data, bytes, offset) => {
        this.remember(data, bytes);
        this.sink.data({ terminalId: info.terminalId, data, bytes, offset });
      },
      pause: () => handle.pause(),
      resume: () => handle.resume(),
      // readers come with attach (a pane, a web client); until the first does, output waits for it.
      // Once every reader has left, output goes on into the scrollback (a closed window holds nothing).
      readers: [FIRST_READER],
      utf8SilenceMs: UTF8_SILENCE_MS,
    });
    this.unsubscribe = handle.onData((buf) => this.flow.push(buf));
    // The exit is told after the last byte: the pty may still hold output (and a paused one waits
    // for its readers' acks) when the process has already been reaped.
    const drained = (): Promise<void> => this.handle.drain?.() ?? Promise.resolve();
    exited.then(
      (code) => drained().then(() => this.finish(code)),
      () => drained().then(() => this.finish(-1)),
    );
  }

  get exited(): boolean {
    return this.exitCode !== undefined;
  }

  /** A reader (re)attaches: it gets the scrollback and acks only what it receives from now on. */
  snapshot(reader = ''): TerminalSnapshot {
    this.flow.attach(reader);
    if (reader !== FIRST_READER) this.flow.detach(FIRST_READER);
    return {
      data: this.scrollback.map((c) => c.data).join(''),
      end: this.flow.offset,
      exited: this.exited,
      exitCode: this.exitCode,
    };
  }

  write(data: string): void {
    if (!this.exited && !this.closed) this.handle.write(data);
  }

  resize(cols: number, rows: number): void {
    if (!this.exited && !this.closed) this.handle.resize(cols, rows);
  }

  ack(bytes: number, reader = ''): void {
    this.flow.ack(bytes, reader);
  }

  /** A reader left (its pane closed, its connection ended): it no longer holds the pty back. */
  detach(reader: string): void {
    this.flow.detach(reader);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    this.handle.close();
  }

  private remember(data: string, bytes: number): void {
    this.scrollback.push({ data, bytes });
    this.scrollbackBytes += bytes;
    while (this.scrollbackBytes > this.maxScrollback && this.scrollback.length > 1) {
      this.scrollbackBytes -= this.scrollback.shift()!.bytes;
    }
  }

  private finish(code: number): void {
    if (this.exitCode !== undefined) return;
    this.flow.end();
    this.exitCode = code;
    this.sink.exit({ terminalId: this.info.terminalId, exitCode: code });
  }
}
