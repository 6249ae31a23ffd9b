// Reaps the runtime's container processes. They are clone()d through koffi, so libuv does not know
// them: a SIGCHLD listener (plus a slow poll, in case signals coalesce) calls waitpid(WNOHANG).
import { reap } from '../../../native/libc';

const waiting = new Map<number, (status: number) => void>();
let poll: NodeJS.Timeout | undefined;

function check(): void {
  for (const [pid, done] of waiting) {
    let status: number | null;
    try {
      status = reap(pid);
    } catch {
      status = 0; // ECHILD: someone else reaped it; report a plain exit.
    }
    if (status !== null) {
      waiting.delete(pid);
      done(status);
    }
  }
  if (waiting.size === 0) stop();
}

function stop(): void {
  process.removeListener('SIGCHLD', check);
  if (poll) clearInterval(poll);
  poll = undefined;
}

/** Resolves with the raw wait status when child pid exits. */
export function waitForExit(pid: number): Promise<number> {
  return new Promise((resolve) => {
    waiting.set(pid, resolve);
    if (!poll) {
      process.on('SIGCHLD', check);
      // Ref'd on purpose: a process waiting for its containers must stay alive.
      poll = setInterval(check, 250);
    }
    check();
  });
}

export interface ExitStatus { exitCode: number; signal?: string }

const SIGNAL_NAMES: Record<number, string> = {
  1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 4: 'SIGILL', 6: 'SIGABRT', 8: 'SIGFPE', 9: 'SIGKILL', 11: 'SIGSEGV',
  13: 'SIGPIPE', 14: 'SIGALRM', 15: 'SIGTERM',
};

/** A wait status as the shell reports it: the exit code, or 128+N for signal N. */
export function decodeWaitStatus(status: number): ExitStatus {
  const sig = status & 0x7f;
  if (sig === 0) return { exitCode: (status >> 8) & 0xff };
  return { exitCode: 128 + sig, signal: SIGNAL_NAMES[sig] ?? `signal ${sig}` };
}
