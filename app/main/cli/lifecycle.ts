// `locker wait`, `locker restart` and `locker stats`: docker's verbs for a container's lifetime and
// for what it uses. Stats read the kernel's own counters: the container's cgroup where it has one
// (memory, cpu, pids controllers), else its processes in /proc; the network from its namespace's
// /proc/PID/net/dev.
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { openCgroup } from '../runtime/cgroups';
import { monitorGone } from '../runtime/detach';
import { LockerError } from '../runtime/errors';
import { containerProcessTable } from '../runtime/inspect/processes';
import { readProcText } from '../runtime/inspect/proc-read';
import { Runtime } from '../runtime/runtime';
import type { ContainerInfo } from '../../shared/types';
import { flag, one, parseArgs } from './args';
import { table } from './format';
import { cliIo } from './io';
import { importProgressPrinter } from './progress';

const POLL_MS = 100;

/**
 * `locker wait ID...`: blocks until each container has exited and prints its exit status, one line
 * per id in the order given (docker wait). A container whose owner was killed before it could
 * record the status is one line on stderr instead.
 */
export async function waitCommand(argv: string[]): Promise<number> {
  const p = parseArgs(argv, [], 'wait');
  if (p.rest.length === 0) throw new LockerError('locker wait needs a container id; see locker ps');
  const rt = new Runtime({ recover: false });
  let failed = 0;
  let gone = false;
  cliIo().onGone(() => (gone = true)); // served: nobody waits any more
  for (const id of p.rest) {
    let info = rt.get(id);
    if (!info) {
      cliIo().stderr.write(`locker: no container "${id}"; see locker ps -a for the ids\n`);
      failed++;
      continue;
    }
    while (info && info.state === 'running') {
      if (gone) return 2;
      await new Promise((r) => setTimeout(r, POLL_MS));
      info = rt.get(info.id) ?? info;
    }
    // Removed meanwhile (run --rm, rm -f): what it last recorded is all there is.
    if (info.exitCode === undefined) {
      cliIo().stderr.write(`locker: container ${info.name} ended, but its exit status was not recorded (its locker process was killed first)\n`);
      failed++;
      continue;
    }
    cliIo().stdout.write(`${info.exitCode}\n`);
  }
  return failed ? 2 : 0;
}

/** `locker restart [-t SECONDS] ID...`: stop (SIGTERM, SIGKILL after the grace period) and start again, detached. */
export async function restartCommand(argv: string[]): Promise<number> {
  const p = parseArgs(argv, [{ names: ['time', 't'], value: true }], 'restart');
  const secs = Number(one(p, 'time') ?? '3');
  if (!Number.isFinite(secs) || secs < 0) throw new LockerError(`--time "${one(p, 'time')}" is not a number of seconds; e.g. -t 5`);
  if (p.rest.length === 0) throw new LockerError('locker restart needs the id of a container started with run -d or --keep; see locker ps -a');
  const rt = new Runtime({ autoRemove: false });
  const opts = { onImportProgress: importProgressPrinter(), onNote: (line: string) => cliIo().stderr.write(`locker: ${line}\n`) };
  // All stopped at once (one grace period for all), then each started; every id printed or one line.
  const stopped = await Promise.allSettled(p.rest.map(async (id) => {
    const info = rt.get(id);
    if (!info) throw new LockerError(`no container "${id}"; see locker ps -a for the ids`);
    if (info.state === 'running') {
      if (!info.detached) throw new LockerError(`container ${info.name} runs in the foreground of the locker run that started it; restart is for containers started with run -d (or exited ones kept with --keep)`);
      await rt.stop(info.id, secs * 1000);
      // Its monitor runs the exit command (network teardown) after recording the status: were it
      // still running, it could tear down the new run's veth, which has the same name.
      const monitor = rt.store.load(info.id)?.monitor;
      if (monitor && !(await monitorGone(monitor, 30_000))) throw new LockerError(`the monitor of container ${info.name} did not finish within 30 s; try again, or locker rm -f ${info.name}`);
    }
    return info.id;
  }));
  // Runtime.restart releases what the stopped run still held (cgroup, veth, NAT table) before the id is used again.
  const started = await Promise.allSettled(stopped.map((r) => (r.status === 'fulfilled' ? rt.restart(r.value, opts) : Promise.reject(r.reason))));
  let failed = 0;
  started.forEach((r, i) => {
    if (r.status === 'fulfilled') return void cliIo().stdout.write(`${p.rest[i]}\n`);
    if (!(r.reason instanceof LockerError)) throw r.reason;
    cliIo().stderr.write(`locker: ${r.reason.message}\n`);
    failed++;
  });
  return failed ? 2 : 0;
}

export interface UsageSample {
  at: number;
  /** CPU time used so far, µs */
  cpuUsec: number;
  memoryBytes: number;
  memoryLimit: number;
  pids: number;
  netRx: number;
  netTx: number;
  /** where the figures come from: the cgroup's files or the processes in /proc */
  source: 'cgroup' | 'proc';
}

export interface StatsRow {
  id: string;
  name: string;
  cpuPercent: number;
  memoryBytes: number;
  memoryLimit: number;
  memoryPercent: number;
  pids: number;
  netRx: number;
  netTx: number;
  source: UsageSample['source'];
}

const TICKS_PER_SECOND = 100; // USER_HZ: what /proc/PID/stat counts in on Linux

/** One reading of a running container's counters. */
export function sampleUsage(info: ContainerInfo): UsageSample {
  const cg = info.rootless ? undefined : openCgroup(info.id);
  const st = cg && cg.paths.length ? cg.stats() : undefined;
  let procs: ReturnType<typeof containerProcessTable> | undefined;
  const processes = () => (procs ??= containerProcessTable(info.pid));
  const fromProc = st?.cpuUsageUsec == null || st?.memoryCurrent == null || st?.pidsCurrent == null;
  const cpuUsec = st?.cpuUsageUsec ?? processes().reduce((sum, e) => sum + procCpuUsec(e.pid), 0);
  const memoryBytes = st?.memoryCurrent ?? processes().reduce((sum, e) => sum + procRssBytes(e.pid), 0);
  // v1 reports "no limit" as a huge number: the host's memory is the real ceiling (docker shows it too).
  const max = st?.memoryMax;
  const memoryLimit = max != null && max > 0 && max < totalmem() ? max : totalmem();
  const pids = st?.pidsCurrent ?? processes().length;
  const net = netCounters(info.pid);
  return { at: Date.now(), cpuUsec, memoryBytes, memoryLimit, pids, ...net, source: fromProc ? 'proc' : 'cgroup' };
}

/** CPU % between two samples (100 = one CPU busy the whole time, as docker counts). */
export function statsRow(info: ContainerInfo, a: UsageSample, b: UsageSample): StatsRow {
  const wallUsec = Math.max(1, (b.at - a.at) * 1000);
  return {
    id: info.id, name: info.name,
    cpuPercent: Math.max(0, ((b.cpuUsec - a.cpuUsec) / wallUsec) * 100),
    memoryBytes: b.memoryBytes, memoryLimit: b.memoryLimit, memoryPercent: (b.memoryBytes / b.memoryLimit) * 100,
    pids: b.pids, netRx: b.netRx, netTx: b.netTx, source: b.source,
  };
}

function procCpuUsec(pid: number): number {
  const stat = readProcText(`/proc/${pid}/stat`);
  if (!stat) return 0;
  // fields after the command's closing paren: state is field 3, utime 14, stime 15
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1e6) / TICKS_PER_SECOND;
}

function procRssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readProcText(`/proc/${pid}/status`) ?? '');
  return m ? Number(m[1]) * 1024 : 0;
}

/** Bytes received and sent on the container's interfaces other than lo (its namespace's /proc/net/dev). */
function netCounters(pid: number): { netRx: number; netTx: number } {
  let rx = 0;
  let tx = 0;
  let text = '';
  try {
    text = readFileSync(`/proc/${pid}/net/dev`, 'utf8');
  } catch {
    return { netRx: 0, netTx: 0 };
  }
  for (const line of text.split('\n').slice(2)) {
    const [name, rest] = line.split(':');
    if (!rest || name.trim() === 'lo') continue;
    const f = rest.trim().split(/\s+/).map(Number);
    rx += f[0];
    tx += f[8];
  }
  return { netRx: rx, netTx: tx };
}

function human(n: number): string {
  for (const [u, f] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) if (n >= f) return `${(n / f).toFixed(2)}${u}`;
  return `${n}B`;
}

function humanDecimal(n: number): string {
  for (const [u, f] of [['GB', 1e9], ['MB', 1e6], ['kB', 1e3]] as const) if (n >= f) return `${(n / f).toFixed(1)}${u}`;
  return `${n}B`;
}

export function statsTable(rows: StatsRow[]): string {
  const out = [['ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'NET I/O', 'PIDS']];
  for (const r of rows) {
    out.push([r.id, r.name, `${r.cpuPercent.toFixed(2)}%`, `${human(r.memoryBytes)} / ${human(r.memoryLimit)}`, `${r.memoryPercent.toFixed(2)}%`,
      `${humanDecimal(r.netRx)} / ${humanDecimal(r.netTx)}`, String(r.pids)]);
  }
  return table(out);
}

/**
 * `locker stats [--no-stream] [--json] [ID...]`: CPU, memory, network and pids of running containers
 * (all when no id is given), every second until Ctrl-C or until they have all exited; --no-stream
 * prints one reading (CPU over half a second).
 */
export async function statsCommand(argv: string[]): Promise<number> {
  const p = parseArgs(argv, [{ names: ['no-stream'], value: false }, { names: ['json'], value: false }], 'stats');
  const rt = new Runtime({ recover: false });
  const wanted = (): ContainerInfo[] => {
    if (p.rest.length === 0) return rt.list().filter((c) => c.state === 'running');
    return p.rest.map((id) => {
      const c = rt.get(id);
      if (!c) throw new LockerError(`no container "${id}"; see locker ps for the ids`);
      return c;
    });
  };
  const first = wanted();
  const stopped = first.find((c) => c.state !== 'running');
  if (stopped) throw new LockerError(`container ${stopped.name} is not running; stats are read from a running container's cgroup and processes`);
  const once = flag(p, 'no-stream');
  let prev = new Map(first.map((c) => [c.id, sampleUsage(c)]));
  let interrupted = false;
  cliIo().onSignal('SIGINT', () => (interrupted = true));
  cliIo().onGone(() => (interrupted = true)); // served: its client is gone
  for (;;) {
    await new Promise((r) => setTimeout(r, once ? 500 : 1000));
    const now = wanted().filter((c) => c.state === 'running');
    const rows: StatsRow[] = [];
    const next = new Map<string, UsageSample>();
    for (const c of now) {
      let s: UsageSample;
      try {
        s = sampleUsage(c);
      } catch {
        continue; // ended between the list and the read
      }
      next.set(c.id, s);
      const before = prev.get(c.id);
      if (before) rows.push(statsRow(c, before, s));
    }
    prev = next;
    if (flag(p, 'json')) cliIo().stdout.write(JSON.stringify(rows) + '\n');
    else cliIo().stdout.write((cliIo().stdout.isTTY && !once ? '\x1b[H\x1b[2J' : '') + statsTable(rows));
    if (once || interrupted || now.length === 0) return 0;
  }
}
