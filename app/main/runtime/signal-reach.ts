// Whether a signal sent to a container's init can still reach it, read from /proc around the send.
//
// The kernel decides at kill() time whether a signal is discarded (prepare_signal → sig_ignored):
//   - one the target ignores (SIG_IGN) is discarded, whatever the process;
//   - one with no handler sent to a PID namespace's init is discarded too: an init gets no default
//     action but SIGKILL's (pid_namespaces(7)); `sleep` as PID 1 never sees SIGTERM.
// It is kept, and may still act, when the target blocks it (SigBlk: it stays pending; the target
// may read it with signalfd, or install a handler before unblocking), when it is traced, and when
// the target sleeps in sigtimedwait/sigwaitinfo/sigwait (tini, dumb-init, locker-init): that call
// lifts the block while it sleeps and keeps the old mask where /proc does not show it
// (real_blocked), so only the syscall it sleeps in (/proc/PID/syscall) tells. A process /proc
// cannot answer for (gone, unreadable, on a CPU this moment) is never taken as having lost it.
import { parseNSpid } from './inspect/processes';
import { readProcText } from './inspect/proc-read';

export interface SignalState {
  caught: boolean;
  ignored: boolean;
  blocked: boolean;
  pending: boolean;
  traced: boolean;
  /** PID 1 of its (innermost) PID namespace: the last NSpid field is 1. */
  pidNamespaceInit: boolean;
  /** Asleep in rt_sigtimedwait, or not known not to be (running this moment, unreadable). */
  mayBeWaitingForSignals: boolean;
}

/** rt_sigtimedwait's numbers in /proc/PID/syscall, with those of 32-bit processes on a 64-bit kernel. */
const SIGTIMEDWAIT: Partial<Record<string, readonly number[]>> = {
  x64: [128, 177, 421], arm64: [137, 177, 421], riscv64: [137], loong64: [137], ia32: [177, 421], arm: [177, 421], s390x: [177], ppc64: [176],
};

/** Is sig in the mask field of a status file? undefined when the field is missing. */
function inMask(status: string, field: string, sig: number): boolean | undefined {
  const m = new RegExp(`^${field}:\\s*([0-9a-f]+)$`, 'm').exec(status);
  return m ? ((BigInt(`0x${m[1]}`) >> BigInt(sig - 1)) & 1n) === 1n : undefined;
}

/** How pid treats sig this moment, from /proc; undefined when it is gone or /proc says nothing. */
export function readSignalState(pid: number, sig: number): SignalState | undefined {
  let status: string | null;
  let syscall: string | null;
  try {
    status = readProcText(`/proc/${pid}/status`);
    syscall = status === null ? null : readProcText(`/proc/${pid}/syscall`);
  } catch {
    // e.g. EACCES on /proc/PID/syscall (another user's process, ptrace_scope 3): nothing known.
    return undefined;
  }
  if (status === null || syscall === null) return undefined;
  const [caught, ignored, blocked, pending, sharedPending] = ['SigCgt', 'SigIgn', 'SigBlk', 'SigPnd', 'ShdPnd'].map((f) => inMask(status, f, sig));
  const nspid = parseNSpid(status);
  const tracer = /^TracerPid:\s*(\d+)$/m.exec(status)?.[1];
  if (caught === undefined || ignored === undefined || blocked === undefined || pending === undefined || sharedPending === undefined || !nspid || !tracer) return undefined;
  const nr = /^\d+/.exec(syscall)?.[0];
  const waits = SIGTIMEDWAIT[process.arch];
  return {
    caught, ignored, blocked, pending: pending || sharedPending, traced: tracer !== '0',
    pidNamespaceInit: nspid[nspid.length - 1] === 1,
    // "running": on a CPU, maybe between lifting the block and going to sleep in sigtimedwait.
    // "-1 …": blocked outside any syscall. A number: the syscall it sleeps in.
    mayBeWaitingForSignals: !waits || syscall.startsWith('running') || (nr !== undefined && waits.includes(Number(nr))),
  };
}

/** Would the kernel have discarded the signal sent to a process in this state? */
function discards(s: SignalState | undefined): boolean {
  if (!s || s.blocked || s.pending || s.traced || s.mayBeWaitingForSignals) return false;
  return s.ignored || (s.pidNamespaceInit && !s.caught);
}

/**
 * True only when the signal was surely discarded: both the state read just before the kill and
 * the one read just after say so (a handler dropped right after the signal arrived, as "a second
 * one kills at once" programs do, shows in the first; one installed just before the send, in the second).
 */
export function surelyDiscarded(before: SignalState | undefined, after: SignalState | undefined): boolean {
  return discards(before) && discards(after);
}
