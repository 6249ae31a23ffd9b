// The CLI's view of the process it runs for: where its own lines go, its environment, working
// directory, terminal and signals. Started from a shell, a command runs for its own process
// (processIo). Served by the resident CLI server (server.ts), it runs for the client that asked:
// the client passed its stdin/stdout/stderr descriptors, environment and working directory, and
// forwards its signals, so one server runs many commands at once, each with its own.
import { AsyncLocalStorage } from 'node:async_hooks';

export interface CliStream {
  write(text: string | Uint8Array): boolean;
  readonly isTTY: boolean;
  readonly columns?: number;
  readonly rows?: number;
}

export type CliSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'SIGQUIT';

export interface CliIo {
  readonly stdout: CliStream;
  readonly stderr: CliStream;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly stdinIsTTY: boolean;
  /** Descriptors of this process whose open files are the command's stdin, stdout and stderr. */
  readonly stdioFds: [number, number, number];
  /** A handler for a signal sent to the command (to this process, or to the client that asked). */
  onSignal(sig: CliSignal, handler: () => void): void;
  /** A handler for the end of the CLI that asked (killed, or its client gone): stop what is its. */
  onGone(handler: () => void): void;
  /** Set by the server: a command that needs a process of its own (a terminal, --trace) says so. */
  readonly served: boolean;
}

/** Thrown before any side effect by a served command that must run in a CLI process of its own. */
export class NeedsOwnProcess extends Error {}

const processIo: CliIo = {
  // Getters: Node makes its stdio streams (and sets O_NONBLOCK on pipes) at the first read.
  get stdout() { return process.stdout; },
  get stderr() { return process.stderr; },
  get env() { return process.env; },
  get cwd() { return process.cwd(); },
  get stdinIsTTY() { return !!process.stdin.isTTY; },
  stdioFds: [0, 1, 2],
  onSignal: (sig, handler) => void process.on(sig, handler),
  // This process's own end ends what it started (PR_SET_PDEATHSIG, the kernel's): nothing to do.
  onGone: () => undefined,
  served: false,
};

const context = new AsyncLocalStorage<CliIo>();

/** The io of the command running now. */
export const cliIo = (): CliIo => context.getStore() ?? processIo;

/** Runs a served command with its client's io. */
export const withCliIo = <T>(io: CliIo, run: () => T): T => context.run(io, run);

/** Throws NeedsOwnProcess when served: what follows needs this process's own terminal or state. */
export function needsOwnProcess(): void {
  if (cliIo().served) throw new NeedsOwnProcess();
}
