// The left pane's shell: an ordinary bash on the host, through node-pty, adapted to the
// runtime's TerminalHandle so host and container terminals share one code path.
import type { TerminalHandle } from '../runtime/handles';

export interface HostShell {
  pid: number;
  terminal: TerminalHandle;
  exited: Promise<number>;
}

interface Pty {
  pid: number;
  onData(listener: (data: string | Buffer) => void): { dispose(): void };
  onExit(listener: (e: { exitCode: number; signal?: number }) => void): { dispose(): void };
  write(data: string | Buffer): void;
  resize(cols: number, rows: number): void;
  pause(): void;
  resume(): void;
  kill(signal?: string): void;
}

export function spawnHostShell(cols: number, rows: number, shell = '/bin/bash'): HostShell {
  // Loaded lazily: tests that fake the shell never need the native addon.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nodePty = require('node-pty') as { spawn(file: string, args: string[], opts: object): Pty };
  const env = { ...process.env, TERM: 'xterm-256color', COLORTERM: 'truecolor' };
  // encoding null: raw bytes, so our UTF-8 splitter (not node-pty) decides where characters end.
  const p = nodePty.spawn(shell, [], { name: 'xterm-256color', cols, rows, cwd: process.env.HOME || '/', env, encoding: null });
  let closed = false;
  const exited = new Promise<number>((resolve) => {
    p.onExit(({ exitCode, signal }) => resolve(signal ? 128 + signal : exitCode));
  });
  const terminal: TerminalHandle = {
    onData(listener) {
      const d = p.onData((data) => listener(typeof data === 'string' ? Buffer.from(data) : data));
      return () => d.dispose();
    },
    write: (data) => {
      if (!closed) p.write(data);
    },
    resize: (c, r) => {
      if (!closed) p.resize(c, r);
    },
    pause: () => p.pause(),
    resume: () => p.resume(),
    close: () => {
      if (closed) return;
      closed = true;
      try {
        p.kill('SIGHUP');
      } catch {
        // already gone
      }
    },
  };
  return { pid: p.pid, terminal, exited };
}
