// `npm run bench`: launch latency of Locker next to util-linux unshare, bubblewrap and runc on the
// same rootfs; inspection time with 1000+ host processes; the runtime's RSS; pty throughput, direct and
// through web mode; web mode under load (event-loop lag, UI frame times; see web-load.ts).
// Prints a table, then one line of JSON (the last line). Run as root; --smoke for CI; --launch-only
// for the launch rows alone.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { equivalents } from '../app/main/equivalent/equivalent';
import { imagesDir } from '../app/main/runtime/data-dir';
import { inspectContainer } from '../app/main/runtime/inspect';
import { defaultRootfs } from '../app/main/runtime/rootfs/default-rootfs';
import { Runtime } from '../app/main/runtime/runtime';
import { releaseSpare, spareSettled } from '../app/main/runtime/spare';
import { validateSpec } from '../app/main/runtime/spec';
import { writeLinesFile } from '../app/main/testing/pty-lines';
import { measureLoad, measureWebPtyThroughput } from './web-load';
import { measureCliAndScale } from './cli-scale';
import { measureInspectPush, type PushRow } from './inspect-push';

const REPO = join(__dirname, '..', '..');
const CLI = join(REPO, 'bin', 'locker');

export interface Options {
  runs: number; smoke: boolean; inspectRuns: number; ptyBytes: number; hostProcesses: number;
  /** Extra host processes and seconds per phase of the load run (web mode, flood, UI). */
  loadProcesses: number; loadSeconds: number;
}

function parseOptions(argv: string[]): Options {
  const smoke = argv.includes('--smoke');
  const i = argv.indexOf('--runs');
  const runs = i >= 0 ? Number(argv[i + 1]) : smoke ? 5 : 30;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs "${argv[i + 1]}" is not a positive integer; e.g. --runs 30`);
  return { runs, smoke, inspectRuns: smoke ? 5 : 30, ptyBytes: smoke ? 5_000_000 : 50_000_000, hostProcesses: 1000,
    loadProcesses: smoke ? 500 : 5000, loadSeconds: smoke ? 2 : 5 };
}

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
const round = (v: number, d = 2): number => Math.round(v * 10 ** d) / 10 ** d;

interface Series { p50: number; p95: number; samples: number[] }
const series = (samples: number[]): Series => ({ p50: round(percentile(samples, 50)), p95: round(percentile(samples, 95)), samples });

/** Spawns cmd and resolves with ms from the spawn call to the first stdout byte; rejects on a non-zero exit. */
function timeFirstByte(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = nowMs();
    let first: number | undefined;
    let err = '';
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', () => (first ??= nowMs() - t0));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0 || first === undefined) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.trim()}`));
      else resolve(first);
    });
  });
}

/**
 * Locker in this process: from run() to the first byte on the container's pty. `spare`: the app's
 * runtime (runtime/spare.ts), whose next spare network is then waited for, so that making it
 * (on the namespace thread) overlaps no other launcher's measurement.
 */
async function lockerFirstByte(rt: Runtime, spare = false): Promise<number> {
  if (spare && !(await spareSettled())) throw new Error('the runtime made no spare network (see the launch without one for why)');
  const t0 = nowMs();
  const h = await rt.run({ command: ['/bin/echo', 'hi'], tty: true });
  const term = h.terminal!;
  const first = await new Promise<number>((resolve) => {
    const off = term.onData(() => {
      off();
      resolve(nowMs() - t0);
    });
  });
  await h.exited;
  term.close();
  if (spare) await spareSettled();
  return first;
}

interface Launchers { name: string; once: () => Promise<number> }

/** A copy of xs in a random order (Fisher-Yates). */
function shuffled<T>(xs: readonly T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

async function measureLaunch(opts: Options, data: string, rootfs: string): Promise<Record<string, Series>> {
  // As the app makes its runtime (api/runtime-loader.ts): the next container's network made ahead.
  const rt = new Runtime({ autoRemove: true, dataDir: data, spareNetwork: true });
  await rt.recovered;
  // Every launch making its own network (the CLI's, a launch that finds no spare ready).
  const plain = new Runtime({ autoRemove: true, dataDir: data });
  const bundle = join(data, 'runc-bundle');
  const state = join(data, 'runc-state');
  spawnSync('mkdir', ['-p', bundle]);
  const cp = spawnSync('cp', ['-a', rootfs, join(bundle, 'rootfs')], { encoding: 'utf8' });
  if (cp.status !== 0) throw new Error(`copying the rootfs for runc: ${cp.stderr}`);
  const spec = validateSpec({ command: ['/bin/echo', 'hi'], hostname: 'bench', tty: false }, false);
  const config = equivalents({ spec, rootfs: join(bundle, 'rootfs'), rootless: false, hostname: 'bench', uid: 0, gid: 0, workdir: '/' }).ociConfig;
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
  let runcN = 0;
  const launchers: Launchers[] = [
    { name: 'locker', once: () => lockerFirstByte(rt, true) },
    { name: 'lockerNoSpare', once: () => lockerFirstByte(plain) },
    { name: 'cli', once: () => timeFirstByte(CLI, ['run', '--no-tty', '--', '/bin/echo', 'hi'], { ...process.env, LOCKER_DATA_DIR: data }) },
    { name: 'unshare', once: () => timeFirstByte('unshare', ['--pid', '--fork', '--mount-proc', '--uts', '--mount', '--ipc', '--net', '--cgroup', `--root=${rootfs}`, '/bin/echo', 'hi']) },
    { name: 'bwrap', once: () => timeFirstByte('bwrap', ['--unshare-all', '--bind', rootfs, '/', '--proc', '/proc', '--dev', '/dev', '/bin/echo', 'hi']) },
    { name: 'runc', once: () => timeFirstByte('runc', ['--root', state, 'run', '--bundle', bundle, `locker-bench-${process.pid}-${runcN++}`]) },
  ];
  const samples: Record<string, number[]> = Object.fromEntries(launchers.map((l) => [l.name, []]));
  try {
    for (const l of launchers) await l.once(); // warm caches (page cache, the default rootfs)
    // Round-robin, so drift on the machine hits every launcher alike; in a new order each round, so
    // none always follows the same one (runc's exit, say, leaves caches cold and kernel work queued).
    for (let i = 0; i < opts.runs; i++) for (const l of shuffled(launchers)) samples[l.name].push(await l.once());
  } finally {
    releaseSpare(); // the rest of the bench measures runtimes that keep none
    // runc run removes its containers on exit; delete any that a failure left behind.
    const ids = spawnSync('runc', ['--root', state, 'list', '-q'], { encoding: 'utf8' }).stdout?.split('\n').filter(Boolean) ?? [];
    for (const id of ids) spawnSync('runc', ['--root', state, 'delete', '--force', id]);
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, series(v)]));
}

/** inspectContainer on a running container while the host has `count` extra processes. */
async function measureInspect(opts: Options, data: string): Promise<Series & { hostProcesses: number }> {
  const sleepers: ReturnType<typeof spawn>[] = [];
  const killAll = (): void => {
    for (const s of sleepers) if (s.exitCode === null && s.signalCode === null) s.kill('SIGKILL');
  };
  process.on('exit', killAll);
  const rt = new Runtime({ autoRemove: true, dataDir: data });
  let h: Awaited<ReturnType<Runtime['run']>> | undefined;
  try {
    for (let i = 0; i < opts.hostProcesses; i++) sleepers.push(spawn('sleep', ['600'], { stdio: 'ignore' }));
    await Promise.all(sleepers.map((s) => new Promise((r) => s.once('spawn', r))));
    h = await rt.run({ command: ['/bin/sleep', '600'], tty: true });
    const hostProcesses = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length;
    inspectContainer({ id: h.info.id, pid: h.info.pid }); // warm
    const times: number[] = [];
    for (let i = 0; i < opts.inspectRuns; i++) {
      const t0 = nowMs();
      const ins = inspectContainer({ id: h.info.id, pid: h.info.pid });
      times.push(nowMs() - t0);
      if (ins.hostProcesses.length < opts.hostProcesses) throw new Error(`inspection saw ${ins.hostProcesses.length} host processes`);
    }
    return { ...series(times), hostProcesses };
  } finally {
    killAll();
    await Promise.all(sleepers.map((s) => (s.exitCode !== null || s.signalCode !== null ? undefined : new Promise((r) => s.once('exit', r)))));
    process.removeListener('exit', killAll);
    if (h) {
      await rt.stop(h.info.id, 0);
      h.terminal?.close();
    }
  }
}

/** The watch rows as JSON keys: _1k and _5k (null when not measured, as in --smoke for 5k). */
function pushJson(rows: PushRow[]): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const [suffix, target] of [['1k', 1000], ['5k', 5000]] as const) {
    const p = rows.find((r) => Math.abs(r.hostProcesses - target) < target / 2);
    out[`inspect_main_ms_${suffix}`] = p?.pushMainMs ?? null;
    out[`inspect_full_main_ms_${suffix}`] = p?.fullMainMs ?? null;
    out[`inspect_diff_ms_${suffix}`] = p?.diffMs ?? null;
    out[`inspect_push_bytes_per_refresh_${suffix}`] = p?.pushBytesIdle ?? null;
    out[`inspect_push_bytes_one_process_${suffix}`] = p?.pushBytesOneProcess ?? null;
    out[`inspect_full_bytes_per_refresh_${suffix}`] = p?.fullBytes ?? null;
    out[`inspect_push_host_processes_${suffix}`] = p?.hostProcesses ?? null;
  }
  return out;
}

/** Child mode: the runtime's RSS idle and with 10 running containers (each with a pty, as the app runs them). */
async function rssChild(data: string): Promise<void> {
  const rt = new Runtime({ autoRemove: true, dataDir: data });
  rt.list();
  await sleep(200);
  const idle = process.memoryUsage().rss;
  const handles = [];
  try {
    for (let i = 0; i < 10; i++) handles.push(await rt.run({ command: ['/bin/sleep', '600'], tty: true }));
    await sleep(300);
    const busy = process.memoryUsage().rss;
    process.stdout.write(JSON.stringify({ idle, busy, containers: rt.list().filter((c) => c.state === 'running').length }) + '\n');
  } finally {
    for (const h of handles) {
      await rt.stop(h.info.id, 0);
      h.terminal?.close();
    }
  }
}

function measureRss(data: string): { idleMb: number; tenMb: number } {
  const r = spawnSync(process.execPath, [__filename, '--rss-child', data], { encoding: 'utf8', timeout: 60000 });
  if (r.status !== 0) throw new Error(`RSS child failed: ${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { idle: number; busy: number; containers: number };
  if (out.containers !== 10) throw new Error(`RSS child ran ${out.containers} containers, not 10`);
  return { idleMb: round(out.idle / 2 ** 20, 1), tenMb: round(out.busy / 2 ** 20, 1) };
}

/** A copy of the rootfs holding /lines: ~`bytes` of numbered 80-column lines; with what its pty delivers for `cat /lines`. */
function linesRootfs(data: string, rootfs: string, bytes: number): { dir: string; file: string; ptyBytes: number } {
  const dir = join(data, 'lines-rootfs');
  cpSync(rootfs, dir, { recursive: true, verbatimSymlinks: true });
  const file = join(dir, 'lines');
  return { dir, file, ptyBytes: writeLinesFile(file, Math.round(bytes / 80)).length };
}

interface Rate { bytesPerS: number; bytes: number; seconds: number }
const rate = (bytes: number, first: number, last: number): Rate =>
  ({ bytesPerS: Math.round(bytes / ((last - first) / 1000)), bytes, seconds: round((last - first) / 1000, 3) });

/** Locker in this process: `cat /lines` in a container, first to last byte read from its TerminalHandle; every byte or it throws. */
async function lockerLines(rt: Runtime, lines: { dir: string; ptyBytes: number }): Promise<Rate> {
  const h = await rt.run({ command: ['/bin/cat', '/lines'], rootfs: lines.dir, tty: true });
  const term = h.terminal!;
  let bytes = 0;
  let first = 0;
  let last = 0;
  term.onData((d) => {
    if (!first) first = nowMs();
    bytes += d.length;
    last = nowMs();
  });
  await h.exited;
  await term.drain?.();
  term.close();
  if (bytes !== lines.ptyBytes) throw new Error(`the pty gave ${bytes} of ${lines.ptyBytes} bytes`);
  return rate(bytes, first, last);
}

/** Reference: node-pty spawning `cat FILE` on the host (it may lose the tail at exit: libuv's early EOF; what it got is counted). */
async function nodePtyLines(file: string): Promise<Rate> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pty = require('node-pty') as typeof import('node-pty');
  const p = pty.spawn('cat', [file], { cols: 80, rows: 24, encoding: null } as never);
  let bytes = 0;
  let first = 0;
  let last = 0;
  p.onData((d: string | Buffer) => {
    if (!first) first = nowMs();
    bytes += d.length;
    last = nowMs();
  });
  await new Promise<void>((resolve) => p.onExit(() => resolve()));
  for (let seen = -1; seen !== bytes; ) {
    seen = bytes;
    await sleep(100);
  }
  return rate(bytes, first, last);
}

/** Reference: `script -qfc 'cat FILE' /dev/null` (util-linux copies its pty to our pipe). */
function scriptLines(file: string): Promise<Rate> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfc', `cat '${file}'`, '/dev/null'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let bytes = 0;
    let first = 0;
    let last = 0;
    child.stdout.on('data', (d: Buffer) => {
      if (!first) first = nowMs();
      bytes += d.length;
      last = nowMs();
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(rate(bytes, first, last)) : reject(new Error(`script exited ${code}`))));
  });
}

const medianRate = (rs: Rate[]): Rate => [...rs].sort((a, b) => a.bytesPerS - b.bytesPerS)[Math.floor((rs.length - 1) / 2)];

/** The pty rows on realistic output: Locker direct and to a web client beside node-pty and script, round-robin. */
export async function measurePtyLines(opts: Options, data: string, rootfs: string): Promise<Record<'locker' | 'web' | 'nodePty' | 'script', Rate> & { ptyBytes: number }> {
  const lines = linesRootfs(data, rootfs, opts.ptyBytes);
  const rt = new Runtime({ autoRemove: true, dataDir: data });
  const got: Record<'locker' | 'web' | 'nodePty' | 'script', Rate[]> = { locker: [], web: [], nodePty: [], script: [] };
  const runs = opts.smoke ? 1 : 3;
  try {
    for (let i = 0; i < runs; i++) {
      got.nodePty.push(await nodePtyLines(lines.file));
      got.script.push(await scriptLines(lines.file));
      got.locker.push(await lockerLines(rt, lines));
      got.web.push(await measureWebPtyThroughput(data, lines.ptyBytes, { command: ['/bin/cat', '/lines'], rootfs: lines.dir, exactBytes: lines.ptyBytes }));
    }
  } finally {
    rmSync(lines.dir, { recursive: true, force: true });
  }
  return { locker: medianRate(got.locker), web: medianRate(got.web), nodePty: medianRate(got.nodePty), script: medianRate(got.script), ptyBytes: lines.ptyBytes };
}

/** Worst case: bytes per second read from a TerminalHandle while the container writes `bytes` bytes of busybox `yes` (2-byte lines). */
export async function measurePty(opts: Options, data: string): Promise<{ bytesPerS: number; bytesRead: number; seconds: number }> {
  const rt = new Runtime({ autoRemove: true, dataDir: data });
  const h = await rt.run({ command: ['/bin/sh', '-c', `yes | head -c ${opts.ptyBytes}`], tty: true });
  const term = h.terminal!;
  let bytesRead = 0;
  let first = 0;
  let last = 0;
  term.onData((d) => {
    if (!first) first = nowMs();
    bytesRead += d.length;
    last = nowMs();
  });
  await h.exited;
  // The pty may still hold the tail: read until it is quiet.
  for (let seen = -1; seen !== bytesRead; ) {
    seen = bytesRead;
    await sleep(50);
  }
  term.close();
  // The pty turns each "y\n" into "y\r\n" (onlcr): more bytes arrive than the container wrote.
  if (bytesRead < opts.ptyBytes) throw new Error(`read ${bytesRead} of ${opts.ptyBytes} bytes from the pty`);
  const seconds = (last - first) / 1000;
  return { bytesPerS: Math.round(bytesRead / seconds), bytesRead, seconds: round(seconds, 3) };
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n') + '\n';
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === '--rss-child') {
    await rssChild(argv[1]);
    return 0;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench: run as root (unshare, bwrap and runc are compared rootful)\n');
    return 2;
  }
  const opts = parseOptions(argv);
  const data = mkdtempSync(join(tmpdir(), 'locker-bench-'));
  chmodSync(data, 0o755);
  try {
    const rootfs = defaultRootfs(imagesDir(data));
    process.stderr.write(`bench: launch latency, ${opts.runs} runs each…\n`);
    const launch = await measureLaunch(opts, data, rootfs);
    if (argv.includes('--launch-only')) {
      // For working on the launch alone; README's figures come from full runs.
      for (const [name, l] of Object.entries(launch)) process.stdout.write(`${name.padEnd(14)} p50 ${l.p50} ms  p95 ${l.p95} ms  (×${round(l.p50 / launch.bwrap.p50, 2)} bwrap)\n`);
      return 0;
    }
    process.stderr.write(`bench: inspection with ${opts.hostProcesses} extra host processes…\n`);
    const inspect = await measureInspect(opts, data);
    process.stderr.write('bench: watched inspection (pushed diffs) next to polled inspect, ~1,000 and ~5,000 host processes…\n');
    const push = await measureInspectPush(data, opts.smoke ? [1000] : [1000, 5000], opts.smoke ? 3 : 20);
    process.stderr.write('bench: RSS…\n');
    const rss = measureRss(data);
    process.stderr.write(`bench: pty throughput, ${opts.ptyBytes} bytes of 80-column lines: Locker direct and to a web client, node-pty, script…\n`);
    const lines = await measurePtyLines(opts, data, rootfs);
    process.stderr.write(`bench: pty worst case, ${opts.ptyBytes} bytes of busybox yes, direct and through web mode…\n`);
    const pty = await measurePty(opts, data);
    const web = await measureWebPtyThroughput(data, opts.ptyBytes);
    process.stderr.write(`bench: load: pty flood + ${opts.loadProcesses} extra host processes…\n`);
    const load = await measureLoad(data, { hostProcesses: opts.loadProcesses, seconds: opts.loadSeconds, chromium: process.env.LOCKER_CHROMIUM ?? '/usr/bin/chromium' });
    const fr = load.frames;
    const cliScale = await measureCliAndScale({ runs: opts.smoke ? 2 : Math.min(opts.runs, 20), smoke: opts.smoke, scale: opts.smoke ? 5 : 50 }, data, rootfs);

    const ratio = (a: number, b: number): number => round(a / b, 2);
    const L = launch.locker;
    const rows = [['MEASURE', 'P50', 'P95', 'NOTE']];
    const row = (name: string, s: Series, note: string): void => void rows.push([name, `${s.p50} ms`, `${s.p95} ms`, note]);
    row('launch: locker (in-process)', L, 'Runtime.run() → first pty byte of /bin/echo hi; the app\'s runtime: network made ahead (spare)');
    row('launch: locker, no spare', launch.lockerNoSpare, `same, the network made during the launch (×${ratio(launch.lockerNoSpare.p50, launch.bwrap.p50)} bwrap)`);
    row('launch: locker CLI', launch.cli, `spawn bin/locker run → first stdout byte (×${ratio(launch.cli.p50, launch.runc.p50)} runc)`);
    row('launch: unshare', launch.unshare, `util-linux, --root chroot (locker ×${ratio(L.p50, launch.unshare.p50)})`);
    row('launch: bwrap', launch.bwrap, `--unshare-all --bind ROOTFS / (locker ×${ratio(L.p50, launch.bwrap.p50)})`);
    row('launch: runc', launch.runc, `runc run, same rootfs (locker ×${ratio(L.p50, launch.runc.p50)})`);
    row('inspect snapshot', inspect, `inspectContainer with ${inspect.hostProcesses} host processes`);
    for (const p of push) {
      rows.push([`inspect refresh: watch, ${p.hostProcesses} procs`, `${p.pushMainMs} ms`, '', `main-thread CPU per refresh (diff ${p.diffMs} ms); pushed ${p.pushBytesIdle} B per refresh idle, ${p.pushBytesOneProcess} B for one new process`]);
      rows.push([`inspect refresh: polled, ${p.hostProcesses} procs`, `${p.fullMainMs} ms`, '', `the old way, same run: inspect + its JSON, ${p.fullBytes} B per refresh (×${ratio(p.fullBytes, Math.max(1, p.pushBytesIdle))} the idle watch)`]);
    }
    rows.push(['RSS idle', `${rss.idleMb} MB`, '', 'runtime process, no containers']);
    rows.push(['RSS 10 containers', `${rss.tenMb} MB`, '', '10 running containers with ptys']);
    const mbs = (r: { bytesPerS: number }): string => `${round(r.bytesPerS / 1e6, 1)} MB/s`;
    const refs = `node-pty cat on the host ${mbs(lines.nodePty)}, script -qfc cat ${mbs(lines.script)}`;
    rows.push(['pty: 80-col lines, in-process', mbs(lines.locker), '', `cat of ${lines.ptyBytes} bytes in a container → TerminalHandle, every byte (×${ratio(lines.locker.bytesPerS, lines.nodePty.bytesPerS)} node-pty; ${refs})`]);
    rows.push(['pty: 80-col lines, web client', mbs(lines.web), '', `same, over web mode's WebSocket, acked per chunk, every byte (×${ratio(lines.web.bytesPerS, lines.nodePty.bytesPerS)} node-pty)`]);
    rows.push(['pty worst case: busybox yes', mbs(pty), '', `${pty.bytesRead} bytes of 2-byte lines in ${pty.seconds} s from TerminalHandle (slow through any pty)`]);
    rows.push(['pty worst case: yes, web', mbs(web), '', `${web.bytes} bytes in ${web.seconds} s over web mode's WebSocket, acked per chunk`]);
    const loadNote = `${load.hostProcesses} host processes, pty flood`;
    rows.push(['load: event-loop lag', `${load.lag.p50} ms`, '', `p99 ${load.lag.p99} ms, max ${load.lag.max} ms; web mode main side, ${loadNote}, ${load.inspections} inspects (rtt p50 ${load.inspectRttP50} ms)`]);
    if (fr) {
      rows.push(['load: UI frame time', `${fr.p50} ms`, `${fr.p95} ms`, `max ${fr.max} ms, ${fr.long}/${fr.count} frames > 50 ms; chromium showing the flood (${round(fr.uiFloodBytesPerS / 1e6, 2)} MB/s drawn)`]);
      rows.push(['load: lag with the UI', `${fr.lagP50} ms`, '', `p99 ${fr.lagP99} ms, max ${fr.lagMax} ms; event-loop lag while that page refreshes and draws`]);
    } else rows.push(['load: UI frame time', 'n/a', '', load.framesMissing ?? '']);
    rows.push(...cliScale.rows);
    process.stdout.write(`Locker bench (${opts.smoke ? 'smoke, ' : ''}${opts.runs} runs; unshare/bwrap/runc/CLI include spawning them from Node)\n`);
    process.stdout.write(table(rows));
    const json = {
      runs: opts.runs,
      smoke: opts.smoke,
      launch_p50_ms: L.p50, launch_p95_ms: L.p95,
      launch_no_spare_p50_ms: launch.lockerNoSpare.p50, launch_no_spare_p95_ms: launch.lockerNoSpare.p95,
      no_spare_ratio_vs_bwrap: ratio(launch.lockerNoSpare.p50, launch.bwrap.p50),
      cli_p50_ms: launch.cli.p50, cli_p95_ms: launch.cli.p95,
      unshare_p50_ms: launch.unshare.p50, unshare_p95_ms: launch.unshare.p95,
      bwrap_p50_ms: launch.bwrap.p50, bwrap_p95_ms: launch.bwrap.p95,
      runc_p50_ms: launch.runc.p50, runc_p95_ms: launch.runc.p95,
      ratio_vs_runc: ratio(L.p50, launch.runc.p50),
      ratio_vs_bwrap: ratio(L.p50, launch.bwrap.p50),
      ratio_vs_unshare: ratio(L.p50, launch.unshare.p50),
      cli_first_byte_ratio_vs_runc: ratio(launch.cli.p50, launch.runc.p50),
      ...cliScale.json,
      inspect_p50_ms: inspect.p50, inspect_p95_ms: inspect.p95, inspect_host_processes: inspect.hostProcesses,
      ...pushJson(push),
      rss_idle_mb: rss.idleMb, rss_10_containers_mb: rss.tenMb,
      pty_lines_bytes_per_s: lines.locker.bytesPerS, web_pty_lines_bytes_per_s: lines.web.bytesPerS, pty_lines_bytes: lines.ptyBytes,
      nodepty_lines_bytes_per_s: lines.nodePty.bytesPerS, nodepty_lines_bytes_read: lines.nodePty.bytes, script_lines_bytes_per_s: lines.script.bytesPerS,
      pty_lines_ratio_vs_nodepty: ratio(lines.locker.bytesPerS, lines.nodePty.bytesPerS),
      web_pty_lines_ratio_vs_nodepty: ratio(lines.web.bytesPerS, lines.nodePty.bytesPerS),
      pty_bytes_per_s: pty.bytesPerS, pty_bytes_read: pty.bytesRead,
      web_pty_bytes_per_s: web.bytesPerS, web_pty_bytes_read: web.bytes,
      host_processes_during_load: load.hostProcesses,
      event_loop_lag_p50_ms: load.lag.p50, event_loop_lag_p99_ms: load.lag.p99, event_loop_lag_max_ms: load.lag.max,
      load_inspections: load.inspections, load_inspect_rtt_p50_ms: load.inspectRttP50, load_inspect_rtt_p95_ms: load.inspectRttP95,
      load_client_flood_bytes_per_s: load.clientFloodBytesPerS,
      frame_time_p50_ms: fr?.p50 ?? null, frame_time_p95_ms: fr?.p95 ?? null, frame_time_max_ms: fr?.max ?? null,
      long_frames: fr?.long ?? null, frames: fr?.count ?? null, ui_flood_bytes_per_s: fr?.uiFloodBytesPerS ?? null,
      event_loop_lag_ui_p99_ms: fr?.lagP99 ?? null, event_loop_lag_ui_max_ms: fr?.lagMax ?? null,
    };
    process.stdout.write(JSON.stringify(json) + '\n');
    return 0;
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: Error) => {
      process.stderr.write(`bench: ${e.stack ?? e}\n`);
      process.exit(1);
    },
  );
}
