// Step-through for the native pre-exec step. The child blocks in read() on a pipe before each
// planned call; the parent lets it make exactly one call per byte it writes (spawnProcessStepwise
// in ./spawn.ts does the piping). This class is the controller a UI talks to: it says which call
// is next and turns Next / Run to exec / Cancel into bytes on that pipe (or closing it).

/** The call the child makes once released. */
export interface PendingCall {
  /** Index in the planned program, from 0. */
  index: number;
  total: number;
  name: string;
  args: string;
}

export type StepState = 'starting' | 'paused' | 'running' | 'done' | 'cancelled' | 'failed';

export interface StepStatus {
  state: StepState;
  /** Host PID of the waiting child, once cloned. */
  pid?: number;
  /** Set while paused: the call the child makes after the next release. */
  pending?: PendingCall;
  /** Planned calls that have returned. */
  done: number;
  total: number;
  /** True once "Run to exec" released every remaining call. */
  toEnd: boolean;
  error?: string;
}

/** What spawnProcessStepwise lends the stepper: the two things it can do to the child. */
export interface StepPort {
  /** Writes n bytes to the step pipe: the child makes n more calls. */
  release(n: number): void;
  /** Closes the step pipe: the waiting read() gets EOF and the child exits 127. */
  close(): void;
}

/** Thrown by spawnProcessStepwise when the user cancelled: the child exited before the call. */
export class StepCancelled extends Error {
  constructor(readonly before: PendingCall | undefined) {
    super(`step-through cancelled${before ? ` before ${before.name}(${before.args})` : ''}; the setup process exited and nothing was started`);
    this.name = 'StepCancelled';
  }
}

export class Stepper {
  private port: StepPort | undefined;
  private released = 0;
  private gates = 0;
  private status: StepStatus = { state: 'starting', done: 0, total: 0, toEnd: false };
  private readonly listeners = new Set<(s: StepStatus) => void>();
  /** Set by the runtime: the container this setup is for. */
  label?: string;

  get current(): StepStatus {
    return { ...this.status };
  }

  onChange(listener: (s: StepStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private set(patch: Partial<StepStatus>): void {
    this.status = { ...this.status, ...patch };
    if (this.status.state !== 'paused') delete this.status.pending;
    const snapshot = this.current;
    for (const l of this.listeners) {
      try {
        l(snapshot);
      } catch {
        // a listener's failure must not stall the child
      }
    }
  }

  // ---- called by spawnProcessStepwise --------------------------------------------------------

  /** A (new) launch: one gate before each of `total` planned calls. */
  attach(port: StepPort, pid: number, total: number): void {
    const toEnd = this.status.toEnd;
    this.port = port;
    this.gates = total;
    this.released = 0;
    this.set({ state: 'running', pid, done: 0, total, error: undefined });
    if (toEnd) this.runToEnd();
  }

  /** The child has returned from the call before `call` and now waits in read() before it. */
  arrived(call: PendingCall): void {
    this.set({ done: call.index });
    if (this.released > call.index) return; // already released (Run to exec)
    this.set({ state: 'paused', pending: call });
  }

  settled(state: 'done' | 'cancelled' | 'failed', error?: string): void {
    this.port = undefined;
    this.set({ state, error, done: state === 'done' ? this.status.total : this.status.done });
  }

  // ---- called by the UI ----------------------------------------------------------------------

  /** Lets the child make its pending call. */
  next(): void {
    if (this.status.state !== 'paused' || !this.port) throw new Error(`the setup is not paused at a call (it is ${this.status.state})`);
    this.released++;
    this.set({ state: 'running' });
    this.port.release(1);
  }

  /** Releases every remaining call at once: the child runs on to execve without stopping. */
  runToEnd(): void {
    if (this.status.state === 'done' || this.status.state === 'cancelled' || this.status.state === 'failed') {
      throw new Error(`the setup has already ${this.status.state === 'done' ? 'reached exec' : this.status.state === 'failed' ? 'failed' : 'been cancelled'}`);
    }
    this.status.toEnd = true;
    if (!this.port) return; // before clone: attach() releases everything
    const n = this.gates - this.released;
    this.released = this.gates;
    this.set({ state: 'running', toEnd: true });
    if (n > 0) this.port.release(n);
  }

  /** Ends the launch while the child waits: it exits, and the runtime cleans up as for a failed launch. */
  cancel(): void {
    if (this.status.toEnd || this.released >= this.gates && this.gates > 0) throw new Error('too late to cancel: every call has been released already');
    if (this.status.state !== 'paused' && this.status.state !== 'running') throw new Error(`nothing to cancel (the setup is ${this.status.state})`);
    const port = this.port;
    this.port = undefined;
    port?.close();
  }
}
