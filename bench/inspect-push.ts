// The bench's watched-inspection rows (issue 13 "fast paths"): what one refresh of a container's
// inspection costs the main side's thread and the wire, with ~1,000 and ~5,000 host processes —
// the old way (a client polls `inspect`: the whole Inspection, serialized as web mode sends it)
// next to the watch (the service refreshes, diffs and pushes only what changed). Main-thread time
// is the CPU time of this process's main thread alone (its schedstat), per refresh: what runs here
// (the worker's inspection arriving, cgroup reads, spawns, the diff, the JSON the transport would
// send), not the worker, and not time this thread waits for a CPU the worker holds (2 cores).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { Channel, INSPECTION_REFRESH_MS } from '../app/shared/api';
import { LockerService } from '../app/main/api/service';
import { Runtime } from '../app/main/runtime/runtime';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const round = (v: number, d = 2): number => Math.round(v * 10 ** d) / 10 ** d;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
/** ms this process's main thread has run on a CPU (/proc/PID/task/PID/schedstat: nanoseconds first). */
const mainThreadMs = (): number => Number(readFileSync(`/proc/${process.pid}/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
const hostProcessCount = (): number => readdirSync('/proc').filter((n) => n.charCodeAt(0) >= 48 && n.charCodeAt(0) <= 57).length;

/** Polls every `everyMs` (the refresh windows poll at 100 ms: their own cost stays small beside a refresh's). */
async function until(what: string, ok: () => boolean, ms = 60000, everyMs = 50): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`bench: ${what} within ${ms / 1000} s`);
    await sleep(everyMs);
  }
}

/**
 * Tops the host up to `target` processes with sleeps, all children of one shell in its own process
 * group (one child of ours, not thousands of handles on this thread); `remove` kills the group.
 */
async function sleepersUpTo(target: number): Promise<{ count: number; remove(): Promise<void> }> {
  const before = hostProcessCount();
  const missing = target - before;
  if (missing <= 0) return { count: 0, remove: async () => {} };
  const group: ChildProcess = spawn('sh', ['-c', `i=0; while [ $i -lt ${missing} ]; do sleep 600 & i=$((i+1)); done; echo ready; wait`], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  const kill = (): void => {
    try {
      process.kill(-group.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.on('exit', kill);
  let out = '';
  group.stdout!.on('data', (d) => (out += d));
  // each `sleep &` exists once the shell's fork returned: all of them by the time it prints ready
  await until(`${missing} sleeping processes started`, () => out.includes('ready'));
  return {
    count: missing,
    remove: async () => {
      kill();
      process.removeListener('exit', kill);
      await until('the sleeping processes gone', () => group.exitCode !== null || group.signalCode !== null);
      // orphaned, they are reaped by init: wait for that, so the next count starts from the host alone
      await until('the sleeping processes reaped', () => hostProcessCount() < before + Math.max(20, missing / 50));
    },
  };
}

export interface PushRow {
  hostProcesses: number;
  /** p50 main-thread ms of one `inspect` (the whole Inspection) and its JSON reply. */
  fullMainMs: number;
  fullBytes: number;
  /** p50 main-thread ms of one watched refresh: inspect, diff, the JSON of what changed. */
  pushMainMs: number;
  /** Of which the diff itself (mean). */
  diffMs: number;
  /** Bytes pushed per refresh while nothing is done in the container (host noise: kworker renames…). */
  pushBytesIdle: number;
  /** The one event that says a process started in the container. */
  pushBytesOneProcess: number;
}

/** Measures at each target of host processes: the old full inspect first, then the watch, same container. */
export async function measureInspectPush(data: string, targets: number[], refreshes: number): Promise<PushRow[]> {
  const rows: PushRow[] = [];
  for (const target of targets) {
    const sleepers = await sleepersUpTo(target);
    const service = new LockerService(new Runtime({ autoRemove: true, dataDir: data }));
    let id: string | undefined;
    try {
      const { container, terminal } = await service.run({ command: ['/bin/sh'], namespaces: ['pid', 'uts', 'mnt', 'ipc', 'net'], cols: 80, rows: 24 });
      id = container.id;
      const hostProcesses = hostProcessCount();

      // the old way: poll inspect every INSPECTION_REFRESH_MS, send the whole reply; each period
      // counted whole, as the watch's are (the garbage of a refresh is collected within its period)
      const fullMs: number[] = [];
      let fullBytes = 0;
      for (let i = 0; i < refreshes + 2; i++) {
        const cpu0 = mainThreadMs();
        const began = Date.now();
        const ins = await service.inspect({ id });
        fullBytes = JSON.stringify({ t: 'reply', id: i, env: { result: ins } }).length;
        await sleep(Math.max(0, INSPECTION_REFRESH_MS - (Date.now() - began)));
        if (i >= 2) fullMs.push(mainThreadMs() - cpu0); // two warm-ups
      }

      // the watch: what the WebSocket would send of each event, per refresh
      const sent: { seq: number; bytes: number; text: string }[] = [];
      const off = service.on('inspection', (ev) => {
        const text = JSON.stringify({ t: 'event', ch: Channel.inspection, payload: ev });
        sent.push({ seq: ev.seq, bytes: text.length, text });
      });
      await service.watchInspection({ id }, 'bench');
      const stats = service.inspections.stats;
      await until('two refreshes of the watch', () => stats.refreshes >= 3, 30000);
      const pushMs: number[] = [];
      const firstSent = sent.length;
      const diffMs0 = stats.diffMs;
      const refreshes0 = stats.refreshes;
      for (let i = 0; i < refreshes; i++) {
        const n = stats.refreshes;
        const cpu0 = mainThreadMs();
        await until('a refresh', () => stats.refreshes > n, 30000, 100);
        pushMs.push(mainThreadMs() - cpu0);
      }
      const idleBytes = sent.slice(firstSent).reduce((s, e) => s + e.bytes, 0);
      const diffMs = (stats.diffMs - diffMs0) / Math.max(1, stats.refreshes - refreshes0);
      const marker = sent.length;
      await service.writeTerminal({ terminalId: terminal!.terminalId, data: 'sleep 4243 &\n' });
      await until('the started process pushed', () => sent.slice(marker).some((e) => e.text.includes('sleep 4243')), 30000);
      const oneProcess = sent.slice(marker).find((e) => e.text.includes('sleep 4243'))!.bytes;
      off();
      await service.unwatchInspection({ id }, 'bench');
      rows.push({
        hostProcesses, fullMainMs: round(median(fullMs)), fullBytes, pushMainMs: round(median(pushMs)), diffMs: round(diffMs, 3),
        pushBytesIdle: Math.round(idleBytes / refreshes), pushBytesOneProcess: oneProcess,
      });
    } finally {
      if (id) await service.remove({ id }).catch(() => {});
      service.dispose();
      await sleepers.remove();
    }
  }
  return rows;
}
