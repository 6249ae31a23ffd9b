// One live terminal as the UI sees it: a TerminalHandle behind flow control, with scrollback so a
// pane opened late (or re-opened) still shows what was printed before it attached.
import type { TerminalData, TerminalExit, TerminalInfo, TerminalSnapshot } from '../../shared/api';
import type { TerminalHandle } from '../runtime/handles';
import { FlowControl } from './flow';

export const SCROLLBACK_BYTES = 256 * 1024;

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
    });
    this.unsubscribe = handle.onData((buf) => this.flow.push(buf));
    exited.then(
      (code) => this.finish(code),
      () => this.finish(-1),
    );
  }

  get exited(): boolean {
    return this.exitCode !== undefined;
  }

  snapshot(): TerminalSnapshot {
    // The new reader will ack only what it receives from now on.
    this.flow.reset();
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

  ack(bytes: number): void {
    this.flow.ack(bytes);
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
