// What the runtime hands to its callers (CLI, Electron main, web mode) for live containers.
import type { Stepper } from '../../../native/stepper';
import type { ContainerInfo, DirListing, Inspection, RunSpec } from '../../shared/types';

/** Per-run options that are not part of the container's spec. */
export interface RunOptions {
  /** Step-through: the child stops before each planned call until this stepper releases it (native/stepper.ts). */
  stepper?: Stepper;
}

/** The host end of a pty whose other end a container process holds. */
export interface TerminalHandle {
  /** Raw bytes from the pty; may split UTF-8 sequences. Returns an unsubscribe function. */
  onData(listener: (data: Buffer) => void): () => void;
  write(data: string | Buffer): void;
  resize(cols: number, rows: number): void;
  /** Stop reading from the pty (flow control); resume() reads again. */
  pause(): void;
  resume(): void;
  close(): void;
}

export interface ContainerHandle {
  info: ContainerInfo;
  terminal?: TerminalHandle;
  /** Resolves with the final info once the container's init has exited and been cleaned up. */
  exited: Promise<ContainerInfo>;
}

export interface ExecHandle {
  /** Host PID of the exec'd process. */
  pid: number;
  terminal?: TerminalHandle;
  /** Exit status, or 128+N for signal N. */
  exited: Promise<number>;
  kill(signal?: number): void;
}

export interface ExecOptions {
  tty?: boolean;
  cols?: number;
  rows?: number;
  env?: string[];
  workdir?: string;
}

/** The runtime as the app uses it; implemented by Runtime in ./runtime.ts. */
export interface ContainerRuntime {
  run(spec: RunSpec, opts?: RunOptions): Promise<ContainerHandle>;
  list(): ContainerInfo[];
  get(id: string): ContainerInfo | undefined;
  exec(id: string, argv: string[], opts?: ExecOptions): Promise<ExecHandle>;
  /** SIGTERM, then SIGKILL after graceMs. Resolves with the exited info. */
  stop(id: string, graceMs?: number): Promise<ContainerInfo>;
  /** Removes an exited container's record and leftovers (stops it first when force). */
  remove(id: string, force?: boolean): Promise<void>;
  /** Builds the process table off the main thread: cheap to call several times a second. */
  inspect(id: string): Promise<Inspection>;
  listDir(id: string, side: 'host' | 'container', path: string): DirListing;
  /** Called whenever a container starts, exits or is removed. */
  onChange(listener: (containers: ContainerInfo[]) => void): () => void;
}
