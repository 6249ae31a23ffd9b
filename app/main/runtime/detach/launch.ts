// `run -d`: the container is cloned by its monitor (native/src/monitor.c), not by this process, so
// it outlives the CLI: the monitor is its parent (the plan's PR_SET_PDEATHSIG then names the
// monitor: a container dies with its monitor, never with the CLI), reaps it, keeps its output and
// records its exit. This module hands the monitor everything it needs, all decided here.
import { closeSync, existsSync, openSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { errnoName } from '../../../../native/errors';
import { pipe2, reapBlocking, setBlocking } from '../../../../native/libc';
import { Program } from '../../../../native/program';
import { cloneArgsText, spawnProcess, type IntoCgroup, type SpawnOptions } from '../../../../native/spawn';
import { syscallLog } from '../../../../native/syscall-log';
import { OWNER_FILE, processStartTime } from '../records';
import { LOG_MAX_BYTES, monitorFiles, recordedExit, type MonitorRef } from './files';

const O_CLOEXEC = 0o2000000;
/** A program in the container's dir the monitor becomes after recording the exit (runtime/network/exit-command.ts writes it). */
export const EXIT_COMMAND = 'on-exit';
/** Built beside libnsexec.so by scripts/build-native.mjs (native/libc.ts finds the library the same way). */
export const MONITOR_PATH = join(__dirname, '..', '..', '..', '..', '..', 'native', 'build', 'locker-monitor');

interface PtyPair { master: number; slave: number; pty: string }
// node-pty's openpty, as runtime/terminal.ts uses it; here the master goes to the monitor, unread.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const openPtyPair = (cols: number, rows: number): PtyPair => (require('node-pty/build/Release/pty.node') as { open(c: number, r: number): PtyPair }).open(cols, rows);

/** The container's side of its terminal or pipes, as PlanInput's tty / stdio take them. */
export interface DetachedIo {
  tty?: { slaveFd: number; slavePath: string };
  stdio?: [number, number, number];
}

/**
 * One detached launch. `io()` makes the container's terminal (a pty) or its stdin (/dev/null) and
 * stdout+stderr (one pipe, so the log keeps their order); `via` is spawnProcess's clone done by a
 * new monitor. This process keeps none of those fds once the monitor has them.
 */
export class DetachedLaunch {
  private fds: number[] = [];
  private output = -1;
  private current: DetachedIo = {};
  monitor?: MonitorRef;

  constructor(private readonly dir: string, private readonly tty: boolean, private readonly cols = 80, private readonly rows = 24) {}

  /** Fresh fds for one attempt (a launch retried on a copied layer gets new ones). */
  io(): DetachedIo {
    this.closeOurs();
    if (this.tty) {
      const pair = openPtyPair(this.cols, this.rows);
      setBlocking(pair.slave);
      this.output = pair.master;
      this.fds = [pair.master, pair.slave];
      this.current = { tty: { slaveFd: pair.slave, slavePath: pair.pty } };
    } else {
      const [r, w] = pipe2(O_CLOEXEC);
      const nul = openSync('/dev/null', 'r');
      this.output = r;
      this.fds = [r, w, nul];
      this.current = { stdio: [nul, w, w] };
    }
    return this.current;
  }

  readonly via: NonNullable<SpawnOptions['via']> = {
    clone: (flags, program, intoCgroup) => this.clone(flags, program, intoCgroup),
    reap: () => this.reap(),
  };

  private clone(flags: number, program: Program, intoCgroup?: IntoCgroup): { ret: number; reportR: number } {
    const files = monitorFiles(this.dir);
    rmSync(files.exit, { force: true });
    const [reportR, reportW] = pipe2(O_CLOEXEC);
    const [ctlR, ctlW] = pipe2(O_CLOEXEC);
    const [progR, progW] = pipe2(O_CLOEXEC);
    const errFd = openSync(files.errors, 'w', 0o600);
    const nul = openSync('/dev/null', 'r+');
    // The program's own fds (the sync pipe spawnProcess waits on, the cgroup files it writes, the
    // container's io, the cgroup it is cloned into) are handed to the monitor at the numbers named here.
    const pass = [...new Set([...program.parentFds(), ...this.fds.filter((fd) => fd !== this.output), ...(intoCgroup ? [intoCgroup.fd] : [])])];
    const argv = [MONITOR_PATH, `flags=${flags}`, `steps=${program.steps.length}`, `report=${reportW}`, `ctl=${ctlW}`, `pass=${pass.join(',')}`,
      `output=${this.output}`, `pty=${this.tty ? 1 : 0}`, `log=${files.log}`, `log-max=${LOG_MAX_BYTES}`, `socket=${files.socket}`, `exit=${files.exit}`,
      ...(intoCgroup ? [`cgroup=${intoCgroup.fd}`] : [])];
    // What the container holds on the host beyond its own processes (its NAT rules) goes when it ends, CLI or not.
    const onExit = join(this.dir, EXIT_COMMAND);
    if (existsSync(onExit)) argv.push(`exit-command=${onExit}`);
    // Its own session (no terminal, not in the CLI's process group: Ctrl-C there does not reach it),
    // cwd /, stdin the program, stdout nowhere, stderr a file; no PR_SET_PDEATHSIG: it outlives us.
    const start = new Program().setsid().chdir('/').dup2(progR, 0).dup2(nul, 1).dup2(errFd, 2);
    for (const fd of [reportW, ctlW, this.output, ...pass]) start.keepOnExec(fd);
    start.execve(MONITOR_PATH, argv, []);
    let monitorPid: number;
    try {
      // light: the monitor is cloned by the small locker-nsexec, not as a copy of this (big) process.
      monitorPid = spawnProcess({ flags: 0, program: start, light: true }).pid;
    } finally {
      for (const fd of [progR, ctlW, reportW, errFd, nul]) closeSync(fd);
      this.closeOurs();
    }
    this.monitor = { pid: monitorPid, startTime: processStartTime(monitorPid) ?? '' };
    const code = program.encode();
    try {
      for (let off = 0; off < code.length;) off += writeSync(progW, code, off);
    } finally {
      closeSync(progW);
    }
    const pid = readPid(ctlR);
    syscallLog.record({ where: 'host', name: 'clone', args: `${cloneArgsText(flags, intoCgroup)} (by monitor ${monitorPid})`,
      result: pid ?? -1, errno: pid !== undefined && pid < 0 ? errnoName(-pid) : undefined, t: Date.now() });
    if (pid === undefined) {
      reapBlocking(monitorPid);
      closeSync(reportR);
      throw new Error(`the monitor of a detached container failed: ${readText(files.errors) || 'no reason given'} (${MONITOR_PATH}; run npm install to build it)`);
    }
    if (pid < 0) reapBlocking(monitorPid);
    return { ret: pid, reportR };
  }

  /** A container that failed before execve: its monitor reaps it, records the status and exits. */
  private reap(): number {
    if (this.monitor) reapBlocking(this.monitor.pid);
    return recordedExit(this.dir)?.status ?? 0;
  }

  /** After the launch: the record's owner is the monitor (recovery.ts asks whether it is alive). */
  handOver(): MonitorRef {
    const m = this.monitor!;
    writeFileSync(join(this.dir, OWNER_FILE), `${m.pid} ${m.startTime}\n`);
    return m;
  }

  /** Closes this process's copies (the monitor and the container hold their own). */
  closeOurs(): void {
    for (const fd of this.fds) {
      try {
        closeSync(fd);
      } catch {
        // closed already
      }
    }
    this.fds = [];
  }
}

/** The container's pid as the monitor writes it: 8 bytes, or nothing when the monitor died first. */
function readPid(fd: number): number | undefined {
  const buf = Buffer.alloc(8);
  let got = 0;
  try {
    while (got < 8) {
      const n = readSync(fd, buf, got, 8 - got, null);
      if (n === 0) break;
      got += n;
    }
  } finally {
    closeSync(fd);
  }
  return got === 8 ? Number(buf.readBigInt64LE(0)) : undefined;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}
