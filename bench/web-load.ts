// Web mode under load, for `npm run bench`: pty throughput to a WebSocket client, and with a pty flood
// plus thousands of extra host processes, the main process's event-loop lag and the real UI's frame
// times in headless chromium. Everything started here is stopped here (finally blocks).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { Runtime } from '../app/main/runtime/runtime';
import { startWeb, type WebServer } from '../app/main/web/start';
import type { ClientData, ClientRequest, ClientStats } from './web-client';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const round = (v: number, d = 2): number => Math.round(v * 10 ** d) / 10 ** d;
const log = (s: string): void => void process.stderr.write(`bench: ${s}\n`);

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** The web client (web-client.ts) in a worker thread, driven by request/response messages. */
class ClientWorker {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private seq = 0;
  readonly ready: Promise<unknown>;

  constructor(data: ClientData) {
    this.worker = new Worker(join(__dirname, 'web-client.js'), { workerData: { locker_bench_client: data } });
    this.ready = new Promise((resolve, reject) => this.waiting.set(0, { resolve, reject }));
    this.worker.on('message', (m: { seq: number; result?: unknown; error?: string }) => {
      const w = this.waiting.get(m.seq);
      this.waiting.delete(m.seq);
      if (m.error !== undefined) w?.reject(new Error(m.error));
      else w?.resolve(m.result);
    });
    this.worker.on('error', (e) => this.failAll(e));
    this.worker.on('exit', (code) => this.failAll(new Error(`the web client worker exited (${code})`)));
  }

  private failAll(e: Error): void {
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
  }

  req<T>(req: ClientRequest): Promise<T> {
    const seq = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(seq, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ seq, req });
    });
  }

  async close(): Promise<void> {
    await this.req({ op: 'close' }).catch(() => {});
    await this.worker.terminate();
  }
}

/** Web mode in this process on 127.0.0.1 with a real Runtime, plus a connected client worker. */
async function withWeb<T>(data: string, body: (web: WebServer, client: ClientWorker, rt: Runtime) => Promise<T>): Promise<T> {
  const rt = new Runtime({ dataDir: data });
  const web = await startWeb({ host: '127.0.0.1', port: 0, runtime: rt });
  let client: ClientWorker | undefined;
  try {
    client = new ClientWorker({ url: web.url, token: web.token, hostPort: new URL(web.url).host });
    await client.ready;
    return await body(web, client, rt);
  } finally {
    await client?.close();
    await web.close();
    for (const c of rt.list()) await rt.remove(c.id, true).catch((e: Error) => log(`removing ${c.id}: ${e.message}`));
  }
}

export interface WebPty { bytesPerS: number; bytes: number; seconds: number }

/**
 * Bytes per second of a container's output as a web-mode client receives (and acks) it: by default
 * busybox `yes` (the worst case), or `command` in `rootfs` whose output must come to exactly `exactBytes`.
 */
export async function measureWebPtyThroughput(data: string, ptyBytes: number, run: { command?: string[]; rootfs?: string; exactBytes?: number } = {}): Promise<WebPty> {
  return withWeb(data, async (_web, client) => {
    const r = await client.req<{ bytes: number; seconds: number }>({
      op: 'throughput', command: run.command ?? ['/bin/sh', '-c', `yes | head -c ${ptyBytes}`], minBytes: ptyBytes, rootfs: run.rootfs, exactBytes: run.exactBytes,
    });
    return { bytesPerS: Math.round(r.bytes / r.seconds), bytes: r.bytes, seconds: round(r.seconds, 3) };
  });
}

// ---- extra host processes ------------------------------------------------------------------

const countProcesses = (): number => readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length;

function readNumber(path: string): number {
  return Number(readFileSync(path, 'utf8').trim());
}

/** How many more tasks this machine allows, keeping `reserve` spare (pid_max, threads-max, RLIMIT_NPROC). */
export function taskHeadroom(reserve = 2000): { headroom: number; detail: string } {
  const pidMax = readNumber('/proc/sys/kernel/pid_max');
  const threadsMax = readNumber('/proc/sys/kernel/threads-max');
  const threadsNow = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[3].split('/')[1]);
  const limits = readFileSync('/proc/self/limits', 'utf8').match(/^Max processes\s+(\S+)/m)?.[1] ?? 'unlimited';
  // root (CAP_SYS_RESOURCE/CAP_SYS_ADMIN) is not held to RLIMIT_NPROC
  const nproc = limits === 'unlimited' || process.getuid?.() === 0 ? Infinity : Number(limits);
  const headroom = Math.max(0, Math.min(pidMax, threadsMax, nproc) - threadsNow - reserve);
  return { headroom, detail: `pid_max ${pidMax}, threads-max ${threadsMax}, RLIMIT_NPROC ${limits}, ${threadsNow} tasks now` };
}

/**
 * `count` × `sleep 600`, started by shells of `batch` each. Each shell keeps its sleeps' pids, and
 * when its stdin closes (stop(), or this process dying) it SIGKILLs them and reaps them with `wait`;
 * Node reaps the shell. Nothing outlives the bench.
 */
export async function startSleepers(count: number, batch = 500): Promise<{ stop: () => Promise<void> }> {
  const shells: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(shells.map(async (sh) => {
      if (sh.exitCode !== null || sh.signalCode !== null) return;
      const exited = new Promise((r) => sh.once('exit', r));
      sh.stdin?.end();
      if (await Promise.race([exited.then(() => true), sleep(15000).then(() => false)])) return;
      // the shell is stuck: kill its children by hand, then the shell itself
      const children = (() => {
        try {
          return readFileSync(`/proc/${sh.pid}/task/${sh.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
        } catch {
          return [];
        }
      })();
      for (const pid of children) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      sh.kill('SIGKILL');
      await exited;
    }));
  };
  try {
    for (let left = count; left > 0; left -= batch) {
      const n = Math.min(batch, left);
      const script = `p=; i=0; while [ $i -lt ${n} ]; do sleep 600 & p="$p $!"; i=$((i+1)); done; echo ready; read _ || :; kill -9 $p 2>/dev/null; wait; exit 0`;
      const sh = spawn('/bin/sh', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
      shells.push(sh);
      await new Promise<void>((resolve, reject) => {
        let out = '';
        sh.stdout!.on('data', (d) => {
          out += d;
          if (out.includes('ready')) resolve();
        });
        sh.once('exit', (code) => reject(new Error(`a shell starting ${n} sleeps exited (${code}) before they ran`)));
        sh.once('error', reject);
      });
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { stop };
}

// ---- the load run --------------------------------------------------------------------------

export interface LoadOptions { hostProcesses: number; seconds: number; chromium: string }

export interface LoadResult {
  hostProcesses: number;
  requestedHostProcesses: number;
  lag: { p50: number; p99: number; max: number };
  inspections: number;
  inspectRttP50: number;
  inspectRttP95: number;
  clientFloodBytesPerS: number;
  /** Renderer frame times, null when chromium or build/renderer is missing (with the reason). */
  frames: { p50: number; p95: number; max: number; count: number; long: number; uiFloodBytesPerS: number; lagP50: number; lagP99: number; lagMax: number } | null;
  framesMissing?: string;
}

const LAG_RESOLUTION_MS = 10;

/** Event-loop lag: how late a LAG_RESOLUTION_MS timer fires. The histogram holds whole intervals, period included. */
function lagMonitor(): { stop: () => { p50: number; p99: number; max: number } } {
  const h = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  h.enable();
  const late = (ns: number): number => round(Math.max(0, ns / 1e6 - LAG_RESOLUTION_MS));
  return {
    stop: () => {
      h.disable();
      return { p50: late(h.percentile(50)), p99: late(h.percentile(99)), max: late(h.max) };
    },
  };
}

async function lagDuring(ms: number): Promise<{ p50: number; p99: number; max: number }> {
  const m = lagMonitor();
  await sleep(ms);
  return m.stop();
}

type Browser = import('@playwright/test').Browser;

/** The real UI in headless chromium: select the flooding container, then rAF deltas over `ms`. */
async function frameTimes(web: WebServer, containerId: string, ms: number, chromium: string, onMeasure: () => Promise<() => Promise<void>>): Promise<number[]> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pw = require('@playwright/test') as typeof import('@playwright/test');
  let browser: Browser | undefined;
  try {
    browser = await pw.chromium.launch({
      executablePath: chromium,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
    });
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(web.url);
    await page.locator(`[data-testid="container-row"][data-container-id="${containerId}"]`).getByTestId('container-open').click({ timeout: 15000 });
    const pane = page.getByTestId('terminal-container');
    await pane.waitFor({ state: 'visible', timeout: 15000 });
    // the flood is on screen
    for (const end = Date.now() + 15000; ; ) {
      if (/y\s*\n\s*y/.test(await pane.locator('.xterm-rows').innerText())) break;
      if (Date.now() > end) throw new Error('the UI never showed the flood in the container terminal');
      await sleep(100);
    }
    await sleep(500); // let the process trees load once
    const done = await onMeasure();
    const deltas = await page.evaluate(async (duration: number) => {
      const g = globalThis as unknown as { requestAnimationFrame(cb: (t: number) => void): number };
      return new Promise<number[]>((resolve) => {
        const out: number[] = [];
        let start = -1;
        let last = -1;
        const frame = (t: number): void => {
          if (start < 0) start = t;
          else out.push(t - last);
          last = t;
          if (t - start < duration) g.requestAnimationFrame(frame);
          else resolve(out);
        };
        g.requestAnimationFrame(frame);
      });
    }, ms);
    await done();
    if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
    return deltas;
  } finally {
    await browser?.close();
  }
}

/**
 * With `hostProcesses` extra host processes and a container flooding its pty: (a) event-loop lag
 * of this process (web mode's main side) while the client worker refreshes inspect every 500 ms and
 * acks the flood like the renderer; (b) the real UI in chromium showing that flood (the worker stops
 * acking and refreshing: the page does both itself), rAF frame times, and the lag meanwhile.
 */
export async function measureLoad(data: string, opts: LoadOptions): Promise<LoadResult> {
  const room = taskHeadroom();
  const count = Math.min(opts.hostProcesses, room.headroom);
  log(`load: ${room.detail}; starting ${count} sleeps${count < opts.hostProcesses ? ` (not ${opts.hostProcesses}: no headroom)` : ''}…`);
  const sleepers = await startSleepers(count);
  try {
    return await withWeb(data, async (web, client) => {
      const { id } = await client.req<{ id: string }>({ op: 'flood', command: ['/bin/sh', '-c', 'exec yes'] });
      const hostProcesses = countProcesses();
      const ms = opts.seconds * 1000;
      await sleep(300); // the flood is running and paused/resumed by acks

      log(`load: (a) event-loop lag over ${opts.seconds} s, inspect every 500 ms, ${hostProcesses} host processes…`);
      await client.req({ op: 'refresh', on: true });
      const before = (await client.req<ClientStats>({ op: 'stats' })).bytesSeen;
      const lag = await lagDuring(ms);
      const a = await client.req<ClientStats>({ op: 'stats' });
      await client.req({ op: 'refresh', on: false });
      if (a.inspectErrors.length) throw new Error(`inspect failed under load: ${a.inspectErrors[0]}`);
      // Fewer refreshes than one a second is a result (shown in its row, with the round trips), not a failure of the run.
      if (a.inspectMs.length === 0) throw new Error(`no inspection answered in ${opts.seconds} s`);
      const clientFloodBytesPerS = Math.round((a.bytesSeen - before) / opts.seconds);
      if (clientFloodBytesPerS === 0) throw new Error('the flood stopped during the load run');

      let frames: LoadResult['frames'] = null;
      let framesMissing: string | undefined;
      if (!existsSync(opts.chromium)) framesMissing = `no chromium at ${opts.chromium} (set LOCKER_CHROMIUM)`;
      else if (!existsSync(join(__dirname, '..', 'renderer', 'index.html'))) framesMissing = 'build/renderer is missing: run npm run build';
      else {
        log(`load: (b) UI frame times over ${opts.seconds} s in headless chromium…`);
        // flow control is per reader: the worker keeps acking at once, so the page (the slowest
        // reader) paces the flood, and what the worker sees is what the page drew
        let uiBytes = 0;
        let uiLag = { p50: 0, p99: 0, max: 0 };
        const deltas = await frameTimes(web, id, ms, opts.chromium, async () => {
          const t0 = (await client.req<ClientStats>({ op: 'stats' })).bytesSeen;
          const t0ms = Date.now();
          const m = lagMonitor();
          return async () => {
            uiLag = m.stop();
            uiBytes = Math.round((((await client.req<ClientStats>({ op: 'stats' })).bytesSeen - t0) * 1000) / (Date.now() - t0ms));
          };
        });
        frames = {
          p50: round(percentile(deltas, 50)), p95: round(percentile(deltas, 95)), max: round(Math.max(...deltas)),
          count: deltas.length, long: deltas.filter((d) => d > 50).length, uiFloodBytesPerS: uiBytes, lagP50: uiLag.p50, lagP99: uiLag.p99, lagMax: uiLag.max,
        };
      }
      await client.req({ op: 'remove', id });
      return {
        hostProcesses, requestedHostProcesses: opts.hostProcesses, lag,
        inspections: a.inspectMs.length, inspectRttP50: round(percentile(a.inspectMs, 50)), inspectRttP95: round(percentile(a.inspectMs, 95)),
        clientFloodBytesPerS, frames, framesMissing,
      };
    });
  } finally {
    await sleepers.stop();
  }
}
