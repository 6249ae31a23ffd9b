// Starts a process through the native pre-exec step and reports each step it ran.
import { closeSync, readSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { basename } from 'node:path';
import { FIONREAD, cloneFlagNames } from './constants';
import { errnoName, type SyscallError } from './errors';
import { close, fail, ioctlInt, lockerSpawn, lockerSpawnLight, pipe2, kill, reap, reapBlocking } from './libc';
import { OPCODES, Program, type Step } from './program';
import { StepCancelled, type PendingCall, type Stepper } from './stepper';
import { syscallLog, type SyscallEntry } from './syscall-log';

const O_CLOEXEC = 0o2000000;
const RECORD = 24;

export interface StepResult {
  step: Step;
  result: bigint;
  errno?: string;
  /** CLOCK_MONOTONIC nanoseconds in the child when the step returned. */
  tNs: bigint;
}

export interface Spawned {
  pid: number;
  /** After a `fork()` step (setns into a PID namespace): the process that goes on to execve. */
  innerPid?: number;
  steps: StepResult[];
}

export interface SpawnOptions {
  /** CLONE_NEW* flags for the child; 0 forks without new namespaces. */
  flags: number;
  program: Program;
  /** Runs after clone, before the child goes on: the parent writes uid/gid maps here. */
  beforeContinue?: (pid: number) => void;
  /**
   * The step of program before which the child waits for beforeContinue (default 0: before its
   * first). A later one lets the child's own first steps run while the parent does its part; they
   * must need nothing of it. A child failing in one of them is the failure reported, even when
   * the parent's part then failed for its sake (e.g. its network namespace went with it).
   */
  continueAt?: number;
  /**
   * A cgroup v2 directory, open here, that the child is born in (clone3 CLONE_INTO_CGROUP): it never
   * runs outside it. Only where cloneIntoCgroupWorks(); `path` names it in the log.
   */
  intoCgroup?: IntoCgroup;
  /**
   * Another process makes the clone (a detached container's monitor: app/main/runtime/detach) and
   * reaps the child: `clone` returns the pid (or -errno) and the report pipe's read end, `reap`
   * waits for a child that failed. Default: this process, through libnsexec.
   */
  via?: { clone(flags: number, program: Program, intoCgroup?: IntoCgroup): { ret: number; reportR: number }; reap(pid: number): number };
  /**
   * The clone made by native/build/locker-nsexec for this process (libc.ts lockerSpawnLight): the
   * child is the same, but this process's memory is not copied for it, which costs a Node process
   * milliseconds per launch (more the bigger its heap). Ignored with `via`.
   */
  light?: boolean;
  /**
   * The parent's part that needs no pid: run while locker-nsexec makes the clone (light), else just
   * before the clone. Should it fail, a child already cloned is killed and reaped.
   */
  whileCloning?: () => void;
  /**
   * spawnProcessAsync: the child exists already (a PreCloned with these flags), waiting for this
   * program; whileCloning then runs once it is sent. Ignored with `via`.
   */
  early?: PreCloned;

  /**
   * spawnProcessAsync: aborted before the child reached execve (the user's Ctrl-C, the served CLI
   * gone), the child is killed, so a setup that never ends (an image's FIFO, a hung filesystem)
   * cannot hold its caller for ever; the promise then rejects with signal.reason (killed and reaped
   * even if it had just exec'd: the caller asked for no container).
   */
  signal?: AbortSignal;
}

export interface IntoCgroup { fd: number; path: string }

/** The clone as the log shows it: clone3's arguments when the child is born in a cgroup. */
export function cloneArgsText(flags: number, intoCgroup?: IntoCgroup): string {
  const names = cloneFlagNames(flags) === '0' ? '' : cloneFlagNames(flags) + '|';
  if (!intoCgroup) return `${names}SIGCHLD`;
  return `{flags=${names}CLONE_INTO_CGROUP, exit_signal=SIGCHLD, cgroup=${intoCgroup.fd}<${intoCgroup.path}>} (clone3)`;
}

interface ChildRecord { index: number; err: number; result: bigint; tNs: bigint }

/** One 24-byte record of native/src/nsexec.c: step index, errno, result, CLOCK_MONOTONIC ns. */
function decodeRecord(buf: Buffer, off: number): ChildRecord {
  return { index: buf.readUInt32LE(off), err: buf.readInt32LE(off + 4), result: buf.readBigInt64LE(off + 8), tNs: buf.readBigUInt64LE(off + 16) };
}

/** Logs a planned call the child made and returns it as a StepResult. */
function childCall(step: Step, rec: ChildRecord): StepResult {
  const r: StepResult = { step, result: rec.result, errno: rec.result < 0n ? errnoName(rec.err) : undefined, tNs: rec.tNs };
  // Only for a listener: the text of ~150 steps is made when someone reads it.
  if (syscallLog.active) syscallLog.record({ where: 'child', name: step.name, args: step.args, result: rec.result, errno: r.errno, t: monotonicToEpochMs(rec.tNs) });
  return r;
}

/**
 * execve reports nothing when it succeeds: every other planned call must have reported. A program
 * with a stopReporting() step reports up to that step only.
 */
function diedBeforeExec(planned: Step[], made: number): boolean {
  const stop = planned.findIndex((s) => s.code === OPCODES.indexOf('STOP_REPORTING') + 1);
  if (stop >= 0) return made < stop + 1;
  return made < planned.length - (planned[planned.length - 1]?.name === 'execve' ? 1 : 0);
}

/**
 * A successful execve is silent: the report pipe is close-on-exec, so EOF after every earlier call
 * reported means the program runs. Log that row, marked as inferred, so the log ends where the
 * launch did.
 */
function logExecInferred(planned: Step[], made: number): void {
  const last = planned[planned.length - 1];
  if (last?.name !== 'execve' || made !== planned.length - 1 || !syscallLog.active) return;
  syscallLog.record({ where: 'child', name: 'execve', args: last.args, result: 0, inferred: 'eof', t: Date.now() });
}

function monotonicToEpochMs(tNs: bigint): number {
  return Date.now() - Number(process.hrtime.bigint() - tNs) / 1e6;
}

/** Reads a blocking fd (a pipe) until EOF. */
export function readAll(fd: number): Buffer {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(4096);
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN' || (e as NodeJS.ErrnoException).code === 'EINTR') continue;
      throw e;
    }
    if (n === 0) return Buffer.concat(chunks);
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
}

/** Reads a pipe until EOF through the event loop, and closes it. */
function readAllAsync(fd: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = new Socket({ fd, readable: true, writable: false });
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('error', (e) => (sock.destroy(), reject(e)));
    sock.on('end', () => (sock.destroy(), resolve(Buffer.concat(chunks))));
  });
}

/**
 * clone()s the child that runs program; returns the pid (or -errno), the report pipe's read end,
 * and how whileCloning failed, if it did (run while locker-nsexec clones, or before this process does).
 */
function cloneWithReport(flags: number, program: Program, intoCgroup?: IntoCgroup, light = false, whileCloning?: () => void): { ret: number; reportR: number; sideFailure?: unknown } {
  let sideFailure: unknown;
  const side = (): void => {
    try {
      whileCloning?.();
    } catch (e) {
      sideFailure = e;
    }
  };
  if (!light) {
    side();
    if (sideFailure) throw sideFailure;
  }
  const [reportR, reportW] = pipe2(O_CLOEXEC);
  const code = program.encode();
  const args = [flags, intoCgroup?.fd ?? -1, code, code.length, program.steps.length, reportW] as const;
  const pending = light ? lockerSpawnLight(...args) : { helper: undefined, finish: () => lockerSpawn(...args) };
  if (light) side();
  const ret = Number(pending.finish());
  // Made by locker-nsexec, as CLONE_PARENT: the child is this process's all the same.
  const by = pending.helper ? ` (by ${basename(pending.helper)}, CLONE_PARENT)` : '';
  syscallLog.record({ where: 'host', name: 'clone', args: cloneArgsText(flags, intoCgroup) + by,
    result: ret, errno: ret < 0 ? errnoName(-ret) : undefined, t: Date.now() });
  close(reportW);
  return { ret, reportR, sideFailure };
}

/**
 * A child cloned before its program is made (a spare container, app/main/runtime/spare.ts): cloned
 * by locker-nsexec at once, it runs `first` (what can be done before anyone asked for it: joining
 * its cgroup and network namespace, closing every fd it does not need), then waits on a pipe for
 * the rest (Program.load) until spawnProcessAsync sends it (SpawnOptions.early). close() ends one
 * that gets none: its load reads EOF, as it does when this process dies. Not for a user namespace
 * (its maps are written before anything runs) nor a monitor's clone.
 */
export class PreCloned {
  readonly pid: number;
  private readonly reportR: number;
  private readonly loadW: number;
  private readonly first: Program;
  private settled = false;
  /** The clone as the syscall log shows it, for the container that takes this one. */
  readonly clone: Omit<SyscallEntry, 'container'>;

  /**
   * `first(fds)` makes the first steps; it is told the fds the child must keep open: where it
   * reports and where the rest comes from. The load step is added after them.
   */
  constructor(readonly flags: number, first: (keep: { report: number; load: number }) => Program, intoCgroup?: IntoCgroup) {
    const [reportR, reportW] = pipe2(O_CLOEXEC);
    const [loadR, loadW] = pipe2(O_CLOEXEC);
    let pid: number;
    try {
      // Its copies of our ends go first: its load must see EOF when ours closes, and no report of its own.
      this.first = new Program().closeFds(loadW, loadW).closeFds(reportR, reportR);
      this.first.steps.push(...first({ report: reportW, load: loadR }).steps);
      this.first.load(loadR);
      const code = this.first.encode();
      const pending = lockerSpawnLight(flags, intoCgroup?.fd ?? -1, code, code.length, this.first.steps.length, reportW);
      pid = Number(pending.finish());
      if (pid < 0) throw fail('clone', cloneArgsText(flags, intoCgroup), -pid);
      if (!pending.helper) {
        // A clone of this process itself would hold a copy of all its memory for as long as it waits.
        kill(pid, 9, 3 /* ESRCH */);
        reapBlocking(pid);
        throw new Error('a process is cloned ahead only by locker-nsexec (native/build), which could not start');
      }
      this.clone = { where: 'host', name: 'clone', args: `${cloneArgsText(flags, intoCgroup)} (by ${basename(pending.helper)}, CLONE_PARENT, ahead of its program)`, result: pid, t: Date.now() };
    } catch (e) {
      closeSync(reportR);
      close(loadW);
      throw e;
    } finally {
      close(reportW);
      close(loadR);
    }
    this.pid = pid;
    this.reportR = reportR;
    this.loadW = loadW;
  }

  /** Whether it still waits for its program (not ended, e.g. killed by someone). */
  waiting(): boolean {
    return !this.settled && reap(this.pid) === null;
  }

  /** Sends program; answers as cloneWithReport, with the steps the child reports numbered on from its first ones. */
  deliver(program: Program): { ret: number; reportR: number; program: Program } {
    if (this.settled) throw new Error('this pre-cloned process has had its program, or was closed');
    this.settled = true;
    try {
      writeAll(this.loadW, program.loadMessage());
    } catch {
      // EPIPE: it ended meanwhile; its report (or the missing one) says so.
    } finally {
      close(this.loadW);
    }
    const reported = new Program();
    reported.steps.push(...this.first.steps, ...program.steps);
    return { ret: this.pid, reportR: this.reportR, program: reported };
  }

  /** Ends one that got no program: its load reads EOF, it exits and is reaped here. */
  close(): void {
    if (this.abandon() !== undefined) reapBlocking(this.pid);
  }

  /**
   * Lets one that got no program go without waiting: its load reads EOF and it exits; answers its
   * pid, for the caller to reap (undefined when it had its program or was let go already).
   */
  abandon(): number | undefined {
    if (this.settled) return undefined;
    this.settled = true;
    close(this.loadW);
    closeSync(this.reportR);
    return this.pid;
  }
}



function writeAll(fd: number, data: Buffer): void {
  for (let done = 0; done < data.length;) {
    try {
      done += writeSync(fd, data, done, data.length - done);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EAGAIN' && code !== 'EINTR') throw e;
    }
  }
}

/**
 * clone()s a child into `flags` namespaces that runs `program`, and returns once it has exec'd.
 * Throws the SyscallError of the step that failed; the child is then already reaped.
 */
export function spawnProcess(opts: SpawnOptions): Spawned {
  const started = startSpawn(opts);
  let report: Buffer;
  try {
    report = readAll(started.reportR);
  } finally {
    closeSync(started.reportR);
  }
  return settleSpawn(started, report);
}

/**
 * spawnProcess with the child's report read off the event loop: while one child sets itself up
 * (mounts, pivot_root, seccomp, 5-10 ms), this process can clone the next (50 `run -d` at once in
 * the resident CLI server). The report is logged through `within`, as the synchronous part is.
 */
export async function spawnProcessAsync(opts: SpawnOptions, within: <T>(fn: () => T) => T = (fn) => fn()): Promise<Spawned> {
  opts.signal?.throwIfAborted();
  const started = startSpawn(opts);
  // SIGKILL ends even a child blocked in a step; its report pipe then ends and it is reaped below.
  const abort = (): void => void kill(started.pid, 9, 3 /* ESRCH */);
  opts.signal?.addEventListener('abort', abort, { once: true });
  let report: Buffer;
  try {
    report = await readAllAsync(started.reportR);
  } finally {
    opts.signal?.removeEventListener('abort', abort);
  }
  if (opts.signal?.aborted) {
    started.reapChild(started.pid); // killed above, whether or not it had reached execve
    throw opts.signal.reason;
  }
  return within(() => settleSpawn(started, report));
}

interface Started { pid: number; reportR: number; program: Program; reapChild: (pid: number) => number }

/** The clone, the parent's part (beforeContinue) and the child's release. */
function startSpawn(opts: SpawnOptions): Started {
  let program = opts.program;
  let syncW = -1;
  let syncR = -1;
  const continueAt = opts.beforeContinue ? opts.continueAt ?? 0 : 0;
  const early = opts.via ? undefined : opts.early;
  if (early && early.flags !== opts.flags) throw new Error(`cloned ahead with ${cloneFlagNames(early.flags)}, planned with ${cloneFlagNames(opts.flags)}`);
  if (early && opts.beforeContinue) throw new Error('a pre-cloned process gets its whole program at once: the parent\'s part goes before it is sent');
  if (opts.beforeContinue) {
    [syncR, syncW] = pipe2(O_CLOEXEC);
    program = new Program();
    program.steps.push(...opts.program.steps.slice(0, continueAt));
    program.waitFor(syncR);
    program.steps.push(...opts.program.steps.slice(continueAt));
  }
  const viaClone = (via: NonNullable<SpawnOptions['via']>): { ret: number; reportR: number } => {
    opts.whileCloning?.();
    return via.clone(opts.flags, program, opts.intoCgroup);
  };
  const sendEarly = (pre: PreCloned): { ret: number; reportR: number; sideFailure?: unknown; program: Program } => {
    const sent = pre.deliver(program);
    let sideFailure: unknown;
    try {
      opts.whileCloning?.();
    } catch (e) {
      sideFailure = e;
    }
    return { ...sent, sideFailure };
  };
  let cloned: { ret: number; reportR: number; sideFailure?: unknown; program?: Program };
  try {
    cloned = opts.via ? viaClone(opts.via) : early ? sendEarly(early) : cloneWithReport(opts.flags, program, opts.intoCgroup, opts.light, opts.whileCloning);
  } catch (e) {
    if (syncR >= 0) close(syncR);
    if (syncW >= 0) close(syncW);
    throw e;
  }
  const { ret, reportR, sideFailure } = cloned;
  if (cloned.program) program = cloned.program; // the pre-cloned process's first steps, then these
  const reapChild = opts.via ? opts.via.reap : reapBlocking;
  if (syncR >= 0) close(syncR);
  if (ret < 0) {
    if (syncW >= 0) close(syncW);
    closeSync(reportR);
    throw fail('clone', cloneArgsText(opts.flags, opts.intoCgroup), -ret);
  }
  const pid = ret;
  try {
    if (sideFailure) throw sideFailure;
    if (opts.beforeContinue) {
      opts.beforeContinue(pid);
      writeSync(syncW, Buffer.from([1]));
    }
  } catch (e) {
    let own: SyscallError | undefined;
    try {
      kill(pid, 9, 3 /* ESRCH */);
      reapChild(pid);
      // It is gone, so what it reported is in the pipe already (read without waiting for EOF:
      // another child cloned meanwhile may hold the write end until its execve).
      if (continueAt > 0) own = readReport(program, availableBytes(reportR)).failure;
    } finally {
      closeSync(reportR);
    }
    throw own ?? e;
  } finally {
    if (syncW >= 0) close(syncW);
  }
  return { pid, reportR, program, reapChild };
}

/** The child's records, logged, up to the first call that failed. */
function readReport(program: Program, report: Buffer): { steps: StepResult[]; innerPid?: number; failure?: SyscallError } {
  const steps: StepResult[] = [];
  let innerPid: number | undefined;
  for (let off = 0; off + RECORD <= report.length; off += RECORD) {
    const rec = decodeRecord(report, off);
    const step = program.steps[rec.index];
    if (!step) continue;
    steps.push(childCall(step, rec));
    if (step.name === 'fork') innerPid = Number(rec.result);
    if (rec.result < 0n && rec.err !== step.okErrno) return { steps, innerPid, failure: fail(step.name, step.args, rec.err) };
  }
  return { steps, innerPid };
}

/** What a pipe holds now, read without blocking (FIONREAD, then exactly that much). */
function availableBytes(fd: number): Buffer {
  const buf = Buffer.alloc(ioctlInt(fd, FIONREAD, 'FIONREAD'));
  let got = 0;
  while (got < buf.length) got += readSync(fd, buf, got, buf.length - got, null);
  return buf;
}

/** The child's report, logged: its pid once it reached execve, or the first call that failed. */
function settleSpawn({ pid, program, reapChild }: Started, report: Buffer): Spawned {
  const { steps, innerPid, failure } = readReport(program, report);
  if (failure) {
    reapChild(pid);
    throw failure;
  }
  if (diedBeforeExec(program.steps, steps.length)) {
    const status = reapChild(pid);
    throw new Error(`the container's setup process died before execve (wait status ${status}); see the syscall log`);
  }
  logExecInferred(program.steps, steps.length);
  return { pid, innerPid, steps };
}

export interface StepwiseOptions extends SpawnOptions {
  /** Says which call is next and lets the caller release the child one call at a time. */
  stepper: Stepper;
  /**
   * Runs each log record (and the host-side calls made on a release or cancel) in the caller's
   * context, e.g. `fn => syscallLog.within(id, fn)`: they happen after the caller's synchronous part.
   */
  within?: <T>(fn: () => T) => T;
}

type Slot = { kind: 'close' } | { kind: 'gate'; i: number } | { kind: 'call'; i: number };

/**
 * Like spawnProcess, but the child stops before each planned call: it blocks in read() on a
 * step pipe until `opts.stepper` releases it (one byte per call). The report pipe is read
 * asynchronously, so the event loop runs while the child waits. Cancel closes the step pipe: the
 * waiting read() gets EOF, the child reports EPIPE and exits 127, and this rejects with
 * StepCancelled once it is reaped.
 *
 * The gates (read() before each call) are not logged unless one fails; the child's first call,
 * closing its copy of the step pipe's write end so that EOF can reach it, is not logged either.
 */
export async function spawnProcessStepwise(opts: StepwiseOptions): Promise<Spawned> {
  const within = opts.within ?? (<T>(fn: () => T): T => fn());
  const planned = opts.program.steps;
  const stepper = opts.stepper;
  const [stepR, stepWfd] = pipe2(O_CLOEXEC);
  let stepW = stepWfd;
  const program = new Program();
  // The child drops its inherited write end first, so that closing ours is an EOF it sees.
  program.closeFds(stepW, stepW);
  const slots: Slot[] = [{ kind: 'close' }];
  planned.forEach((step, i) => {
    program.waitFor(stepR);
    slots.push({ kind: 'gate', i });
    program.steps.push(step);
    slots.push({ kind: 'call', i });
  });
  const { ret, reportR } = cloneWithReport(opts.flags, program, opts.intoCgroup);
  close(stepR);
  const closeStep = (): void => {
    if (stepW < 0) return;
    const fd = stepW;
    stepW = -1;
    within(() => close(fd));
  };
  if (ret < 0) {
    closeStep();
    closeSync(reportR);
    const err = fail('clone', cloneArgsText(opts.flags, opts.intoCgroup), -ret);
    stepper.settled('failed', err.message);
    throw err;
  }
  const pid = ret;
  try {
    opts.beforeContinue?.(pid);
  } catch (e) {
    kill(pid, 9, 3 /* ESRCH */);
    reapBlocking(pid);
    closeStep();
    closeSync(reportR);
    stepper.settled('failed', (e as Error).message);
    throw e;
  }

  const call = (i: number): PendingCall => ({ index: i, total: planned.length, name: planned[i].name, args: planned[i].args });
  const steps: StepResult[] = [];
  let innerPid: number | undefined;
  let failure: Error | undefined;
  let cancelledBefore: PendingCall | undefined;
  let cancelled = false;
  let settled = false;

  const onRecord = (rec: ChildRecord): void => {
    const { err, result, tNs } = rec;
    const slot = slots[rec.index];
    const step = program.steps[rec.index];
    if (!slot || !step || failure) return;
    const failed = result < 0n && err !== step.okErrno;
    if (slot.kind === 'close') {
      if (failed) failure = fail(step.name, step.args, err);
      else if (planned.length > 0) stepper.arrived(call(0));
      return;
    }
    if (slot.kind === 'gate') {
      if (!failed) return;
      syscallLog.record({ where: 'child', name: step.name, args: step.args, result, errno: errnoName(err), t: monotonicToEpochMs(tNs) });
      if (cancelled && err === 32 /* EPIPE */) {
        cancelledBefore = call(slot.i);
        failure = new StepCancelled(cancelledBefore);
      } else {
        failure = fail(step.name, step.args, err);
      }
      return;
    }
    steps.push(childCall(step, rec));
    if (step.name === 'fork') innerPid = Number(result);
    if (failed) failure = fail(step.name, step.args, err);
    else if (slot.i + 1 < planned.length) stepper.arrived(call(slot.i + 1));
  };

  const sock = new Socket({ fd: reportR, readable: true, writable: false });
  stepper.attach({
    release: (n) => {
      if (stepW < 0) throw new Error('the step pipe is closed');
      writeSync(stepW, Buffer.alloc(n, 1));
    },
    close: () => {
      cancelled = true;
      closeStep();
      // Another child cloned meanwhile (a concurrent launch) holds a copy of the write end until
      // its own execve; should EOF not arrive, end the wait the hard way.
      setTimeout(() => {
        if (!settled) within(() => kill(pid, 9, 3 /* ESRCH */));
      }, 2000).unref();
    },
  }, pid, planned.length);

  try {
    await new Promise<void>((resolve, reject) => {
      let pending: Buffer = Buffer.alloc(0);
      sock.on('data', (chunk: Buffer) => {
        pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
        let off = 0;
        within(() => {
          for (; off + RECORD <= pending.length; off += RECORD) onRecord(decodeRecord(pending, off));
        });
        pending = Buffer.from(pending.subarray(off));
      });
      sock.once('end', () => resolve());
      sock.once('error', reject);
    });
  } catch (e) {
    failure ??= e as Error;
  } finally {
    settled = true;
    sock.destroy();
    closeStep();
  }
  if (!failure && diedBeforeExec(planned, steps.length)) {
    const status = within(() => reapBlocking(pid));
    const err = new Error(`the container's setup process died before execve (wait status ${status}); see the syscall log`);
    stepper.settled(cancelled ? 'cancelled' : 'failed', err.message);
    throw cancelled ? new StepCancelled(undefined) : err;
  }
  if (failure) {
    within(() => reapBlocking(pid));
    stepper.settled(failure instanceof StepCancelled ? 'cancelled' : 'failed', failure.message);
    throw failure;
  }
  within(() => logExecInferred(planned, steps.length));
  stepper.settled('done');
  return { pid, innerPid, steps };
}
