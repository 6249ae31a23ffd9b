// Starts a process through the native pre-exec step and reports each step it ran.
import { closeSync, readSync, writeSync } from 'node:fs';
import { cloneFlagNames } from './constants';
import { errnoName } from './errors';
import { close, fail, lockerSpawn, pipe2, kill, reapBlocking } from './libc';
import { Program, type Step } from './program';
import { syscallLog } from './syscall-log';

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
}

function monotonicToEpochMs(tNs: bigint): number {
  return Date.now() - Number(process.hrtime.bigint() - tNs) / 1e6;
}

function readAll(fd: number): Buffer {
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

/**
 * clone()s a child into `flags` namespaces that runs `program`, and returns once it has exec'd.
 * Throws the SyscallError of the step that failed; the child is then already reaped.
 */
export function spawnProcess(opts: SpawnOptions): Spawned {
  let program = opts.program;
  let syncW = -1;
  let syncR = -1;
  if (opts.beforeContinue) {
    [syncR, syncW] = pipe2(O_CLOEXEC);
    program = new Program();
    program.waitFor(syncR);
    program.steps.push(...opts.program.steps);
  }
  const [reportR, reportW] = pipe2(O_CLOEXEC);
  const code = program.encode();
  const ret = Number(lockerSpawn(opts.flags, code, code.length, program.steps.length, reportW));
  syscallLog.record({ where: 'host', name: 'clone', args: `${cloneFlagNames(opts.flags) === '0' ? '' : cloneFlagNames(opts.flags) + '|'}SIGCHLD`,
    result: ret, errno: ret < 0 ? errnoName(-ret) : undefined, t: Date.now() });
  close(reportW);
  if (syncR >= 0) close(syncR);
  if (ret < 0) {
    if (syncW >= 0) close(syncW);
    closeSync(reportR);
    throw fail('clone', `${cloneFlagNames(opts.flags)}|SIGCHLD`, -ret);
  }
  const pid = ret;
  try {
    if (opts.beforeContinue) {
      opts.beforeContinue(pid);
      writeSync(syncW, Buffer.from([1]));
    }
  } catch (e) {
    kill(pid, 9, 3 /* ESRCH */);
    reapBlocking(pid);
    throw e;
  } finally {
    if (syncW >= 0) close(syncW);
  }
  let report: Buffer;
  try {
    report = readAll(reportR);
  } finally {
    closeSync(reportR);
  }
  const steps: StepResult[] = [];
  let innerPid: number | undefined;
  for (let off = 0; off + RECORD <= report.length; off += RECORD) {
    const index = report.readUInt32LE(off);
    const err = report.readInt32LE(off + 4);
    const result = report.readBigInt64LE(off + 8);
    const tNs = report.readBigUInt64LE(off + 16);
    const step = program.steps[index];
    if (!step) continue;
    const r: StepResult = { step, result, errno: result < 0n ? errnoName(err) : undefined, tNs };
    steps.push(r);
    if (step.name === 'fork') innerPid = Number(result);
    syscallLog.record({ where: 'child', name: step.name, args: step.args, result, errno: r.errno, t: monotonicToEpochMs(tNs) });
    if (result < 0n && err !== step.okErrno) {
      reapBlocking(pid);
      throw fail(step.name, step.args, err);
    }
  }
  const last = program.steps[program.steps.length - 1];
  if (steps.length < program.steps.length - (last?.name === 'execve' ? 1 : 0)) {
    const status = reapBlocking(pid);
    throw new Error(`the container's setup process died before execve (wait status ${status}); see the syscall log`);
  }
  return { pid, innerPid, steps };
}
