// Connects this process's terminal to a container's pty (locker run -t, locker exec -t), or to a
// detached container's monitor (locker attach).
import { attachToMonitor, monitorFiles, recordedExit } from '../runtime/detach';
import { decodeWaitStatus } from '../runtime/wait';
import { LockerError } from '../runtime/errors';
import type { TerminalHandle } from '../runtime/handles';
import type { ContainerInfo } from '../../shared/types';
import { Runtime } from '../runtime/runtime';
import { parseArgs } from './args';

/** docker's default detach keys: Ctrl-P then Ctrl-Q. */
export const DETACH_KEYS = Buffer.from([0x10, 0x11]);

/**
 * Raw stdin into the pty, pty output to stdout, resizes passed on. Returns the detach step. With
 * onDetachKeys, typing DETACH_KEYS calls it instead of reaching the container (a lone Ctrl-P is
 * passed on with the next key, as docker does).
 */
export function attachTerminal(term: TerminalHandle, onDetachKeys?: () => void): () => Promise<void> {
  const stdin = process.stdin;
  if (stdin.isTTY) stdin.setRawMode(true);
  let held = false;
  stdin.on('data', (d: Buffer) => {
    if (!onDetachKeys) return term.write(d);
    let out = Buffer.from(held ? [DETACH_KEYS[0], ...d] : d);
    held = false;
    const at = out.indexOf(DETACH_KEYS);
    if (at >= 0) {
      if (at > 0) term.write(out.subarray(0, at));
      onDetachKeys();
      return;
    }
    if (out[out.length - 1] === DETACH_KEYS[0]) {
      held = true;
      out = out.subarray(0, out.length - 1);
    }
    if (out.length) term.write(out);
  });
  stdin.resume();
  const out = pipeToStdout(term);
  process.stdout.on('resize', () => term.resize(process.stdout.columns, process.stdout.rows));
  return async () => {
    // every byte the pty still holds is written out before the terminal closes (no fixed wait)
    await term.drain?.();
    await out.flushed();
    if (stdin.isTTY) stdin.setRawMode(false);
    stdin.pause();
    term.close();
  };
}

/**
 * The pty's output to stdout with backpressure: a pipe that is full (`| less`, a slow `| wc`)
 * pauses the pty (the container's writer blocks), so nothing piles up here; flushed() resolves once
 * all of it has reached stdout (process.exit drops what a pipe has not taken yet). A closed stdout
 * (EPIPE: `| head`) takes nothing more and holds nothing back.
 */
function pipeToStdout(term: TerminalHandle): { flushed(): Promise<void> } {
  const stdout = process.stdout;
  let broken = false;
  stdout.on('error', () => {
    broken = true;
    term.resume();
  });
  let waiting = false;
  term.onData((d) => {
    if (broken || stdout.write(d) || waiting) return;
    waiting = true;
    term.pause();
    stdout.once('drain', () => {
      waiting = false;
      term.resume();
    });
  });
  return {
    flushed: () => new Promise<void>((resolve) => {
      if (broken || stdout.writableLength === 0) return resolve();
      stdout.once('drain', resolve);
      stdout.once('error', () => resolve());
    }),
  };
}

/** `locker attach ID`: the terminal (or the output) of a detached container, until Ctrl-P Ctrl-Q or its end. */
export async function attachCommand(argv: string[]): Promise<number> {
  const [id, extra] = parseArgs(argv, [], 'attach').rest;
  if (!id || extra) throw new LockerError('locker attach takes one container id; e.g. locker attach ID (see locker ps)');
  const rt = new Runtime();
  const info = rt.get(id);
  if (!info) throw new LockerError(`no container "${id}"; see locker ps for the ids`);
  if (!info.detached) throw new LockerError(`container ${info.name} was not started with -d; its terminal belongs to the locker run that started it (use locker exec -t ${info.name} -- sh for another one)`);
  if (info.state !== 'running') throw new LockerError(`container ${info.name} has exited (${info.exitCode ?? '?'}); see locker logs ${info.name}`);
  return attachDetached(rt, info);
}

/**
 * A running detached container's terminal (with -t: typing, resizes, Ctrl-P Ctrl-Q) or output,
 * until it exits (its status is the answer, as docker attach gives it) or the user detaches (0).
 */
export async function attachDetached(rt: Runtime, info: ContainerInfo): Promise<number> {
  const dir = rt.store.containerDir(info.id);
  const term = await attachToMonitor(monitorFiles(dir).socket, info.name);
  let detachedByKeys = false;
  const leave = (): void => {
    detachedByKeys = true;
    term.close();
  };
  if (info.tty) {
    process.stderr.write(`locker: attached to ${info.name}; Ctrl-P Ctrl-Q detaches and leaves it running\r\n`);
    term.resize(process.stdout.columns, process.stdout.rows);
  } else {
    process.stderr.write(`locker: attached to the output of ${info.name} (no terminal: input is not passed on); Ctrl-C detaches and leaves it running\n`);
    process.once('SIGINT', leave);
  }
  // Without a terminal the container's stdin is /dev/null: nothing typed is sent.
  const detach = info.tty ? attachTerminal(term, leave) : (term.onData((d) => process.stdout.write(d)), async () => term.close());
  await term.ended;
  await detach();
  if (detachedByKeys) {
    process.stderr.write(`\r\nlocker: detached from ${info.name}; it keeps running (locker attach ${info.name} to come back)\n`);
    return 0;
  }
  // The monitor ended the connection: the container has exited; answer with its status, as docker attach does.
  return exitCodeOf(dir);
}

/** The status the monitor records for the container in dir (waited for up to 3 s once it ends); 0 when none comes. */
export async function exitCodeOf(dir: string): Promise<number> {
  const deadline = Date.now() + 3000;
  let ended = recordedExit(dir);
  while (!ended && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    ended = recordedExit(dir);
  }
  return ended ? decodeWaitStatus(ended.status).exitCode : 0;
}
