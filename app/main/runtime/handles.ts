// What the runtime hands to its callers (CLI, Electron main, web mode) for live containers.
import type { Stepper } from '../../../native/stepper';
import type { ContainerInfo, DirListing, Inspection, RunSpec } from '../../shared/types';
import type { ImportProgress } from './rootfs/tarball';

/** Per-run options that are not part of the container's spec. */
export interface RunOptions {
  /** Step-through: the child stops before each planned call until this stepper releases it (native/stepper.ts). */
  stepper?: Stepper;
  /**
   * The container's stdin/stdout/stderr, as fds of this process (default: this process's 0, 1, 2).
   * The CLI passes fresh open file descriptions of its pipes so the container's are blocking (cli/stdio.ts).
   */
  stdio?: [number, number, number];
  /**
   * The process the container is started for, where it is not this one (the resident CLI server
   * starts containers for its clients): its working directory, which a container without a mount
   * namespace starts in, and its TERM, passed on without a terminal. Default: this process's.
   */
  caller?: { cwd: string; term?: string };
  /**
   * `exited` resolves once the status is recorded and what another launch could collide with is
   * released (cgroup, NAT table, port locks, layer, record); the veth, which the kernel removes with
   * the container's network namespace, and the address lease follow (networkReleased() waits for
   * them). For a process that lives on and answers early: the resident CLI server.
   */
  releaseNetworkLater?: boolean;
  /** Progress of a tarball import (bytes of the tarball read), for a progress bar. */
  onImportProgress?: (p: ImportProgress) => void;
  /** One-line notes for the user about the launch (e.g. owners a rootless import could not keep). */
  onNote?: (line: string) => void;
  /**
   * Aborts the launch: during the rootfs import (tar is killed, nothing is kept) or while the
   * container sets itself up (it is killed before its command runs, nothing is kept).
   */
  signal?: AbortSignal;
  /**
   * Detached (`run -d`): a monitor process owns the container (runtime/detach), so it outlives this
   * process; its output goes to a log, its terminal is reached through the monitor's socket.
   */
  detach?: boolean;
  /** With detach (`run -d --rm`): its monitor removes the container (cgroup, network, dir) when it exits. */
  removeOnExit?: boolean;
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
  /**
   * Resolves once every byte the pty holds now has been delivered (call it after the process
   * exited, before saying so): at once when the output has ended, after resume() when paused.
   */
  drain?(): Promise<void>;
  /** Resolves when the output has ended (every slave end closed, all of it delivered) or close(). */
  ended?: Promise<void>;
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
  /** --user UID[:GID]; omitted: the container's own --user (or root). */
  user?: string;
  /** Without a tty: this process's fds that become the exec'd process's 0, 1, 2 (cli/stdio.ts). */
  stdio?: [number, number, number];
  /**
   * A static host program run instead of one of the container's own (locker cp's tar): opened on
   * the host, executed through /proc/self/fd after the process entered the container's root.
   */
  hostBinary?: string;
  /** --ulimit NAME=SOFT[:HARD] (run's grammar), set on the waiting process before it joins the container. */
  ulimits?: string[];
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
