// Connects this process's terminal to a container's pty (locker run -t, locker exec -t).
import type { TerminalHandle } from '../runtime/handles';

/** Raw stdin into the pty, pty output to stdout, resizes passed on. Returns the detach step. */
export function attachTerminal(term: TerminalHandle): () => Promise<void> {
  const stdin = process.stdin;
  if (stdin.isTTY) stdin.setRawMode(true);
  stdin.on('data', (d) => term.write(d));
  stdin.resume();
  term.onData((d) => process.stdout.write(d));
  process.stdout.on('resize', () => term.resize(process.stdout.columns, process.stdout.rows));
  return async () => {
    await new Promise((r) => setTimeout(r, 30)); // let the last pty bytes arrive
    if (stdin.isTTY) stdin.setRawMode(false);
    stdin.pause();
    term.close();
  };
}
