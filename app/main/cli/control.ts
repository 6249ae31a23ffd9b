// `locker kill`, `locker start` and `locker top`: docker's verbs for a container's process.
import { parseSignal } from '../../shared/grammar';
import { LockerError } from '../runtime/errors';
import { Runtime } from '../runtime/runtime';
import { flag, one, parseArgs } from './args';
import { attachDetached, exitCodeOf } from './attach';
import { recordedExit, streamLog } from '../runtime/detach';
import type { ContainerInfo } from '../../shared/types';
import { eachId } from './each';
import { cliIo, needsOwnProcess } from './io';
import { table } from './format';
import { importProgressPrinter } from './progress';

/** `locker kill [-s SIG] ID...`: SIGKILL by default, as docker kill; each id printed as it is signalled. */
export async function killCommand(argv: string[]): Promise<number> {
  const p = parseArgs(argv, [{ names: ['signal', 's'], value: true }], 'kill');
  const r = parseSignal(one(p, 'signal') ?? 'KILL', '--signal');
  if (!r.ok) throw new LockerError(r.problem);
  if (p.rest.length === 0) throw new LockerError('locker kill needs a container id; see locker ps');
  const rt = new Runtime();
  return eachId(p.rest, (id) => rt.signal(id, r.value));
}

/** `locker start [-a] ID...`: an exited, kept container runs its command again, detached (docker start). */
export async function startCommand(argv: string[]): Promise<number> {
  const p = parseArgs(argv, [{ names: ['attach', 'a'], value: false }], 'start');
  if (p.rest.length === 0) throw new LockerError('locker start needs the id of an exited container kept with --keep or run -d; see locker ps -a');
  const rt = new Runtime({ autoRemove: false });
  const opts = { onImportProgress: importProgressPrinter(), onNote: (line: string) => cliIo().stderr.write(`locker: ${line}\n`) };
  if (!flag(p, 'attach')) return eachId(p.rest, (id) => rt.restart(id, opts));
  needsOwnProcess(); // attached: this process's terminal or output, until the container exits
  if (p.rest.length > 1) throw new LockerError('locker start -a attaches to one container; give one id (or leave out -a to start them all)');
  const [id] = p.rest;
  const before = rt.get(id);
  if (before?.state === 'running') throw new LockerError(`container ${before.name} is already running; locker attach ${before.name} follows it (start -a is for an exited one)`);
  const { info } = await rt.restart(id, opts);
  return startAttached(rt, info);
}

/**
 * start -a: with a terminal, the monitor's socket (typing, resizes, Ctrl-P Ctrl-Q); without, its
 * log from the first byte, followed until the container exits, so nothing it printed before this
 * process caught up is lost. Signals are passed to its PID 1 (docker's --sig-proxy). The answer is
 * the container's exit status.
 */
async function startAttached(rt: Runtime, info: ContainerInfo): Promise<number> {
  const dir = rt.store.containerDir(info.id);
  for (const [sig, n] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]] as const) {
    cliIo().onSignal(sig, () => {
      try {
        rt.signal(info.id, n);
      } catch {
        // it ended just now
      }
    });
  }
  if (info.tty) {
    try {
      return await attachDetached(rt, info);
    } catch (e) {
      // Ended before the socket was reached: what it printed is in its log.
      if (!(e instanceof LockerError) || !recordedExit(dir)) throw e;
    }
  }
  const finished = (): boolean => rt.get(info.id)?.state !== 'running';
  await streamLog(dir, (chunk) => cliIo().stdout.write(chunk), { follow: true, finished, pollMs: 50 });
  return exitCodeOf(dir);
}

/** `locker top ID`: the container's processes, each with its PID on the host and inside. */
export async function topCommand(argv: string[]): Promise<number> {
  const p = parseArgs(argv, [{ names: ['json'], value: false }], 'top');
  const [id] = p.rest;
  if (!id || p.rest.length > 1) throw new LockerError('locker top needs one container id; see locker ps');
  const procs = (await new Runtime().inspectContainerOnly(id)).containerProcesses;
  if (p.options.has('json')) {
    cliIo().stdout.write(JSON.stringify(procs, null, 2) + '\n');
    return 0;
  }
  const rows = [['PID', 'PPID', 'CONTAINER PID', 'CONTAINER PPID', 'COMMAND']];
  for (const e of procs) rows.push([String(e.pid), String(e.ppid), String(e.containerPid ?? '-'), String(e.containerPpid ?? '-'), e.cmdline || `[${e.name}]`]);
  cliIo().stdout.write(table(rows));
  return 0;
}
