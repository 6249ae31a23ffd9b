// The host process table, built in one long-lived worker thread (process-worker.ts) so that a
// refresh never blocks the main event loop. Falls back to building it here if the worker fails.
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ProcessEntry } from '../../../shared/types';
import { hostProcessTable } from './processes';

type Reply = { seq: number; table?: ProcessEntry[]; error?: string };

let worker: Worker | undefined;
let broken = false;
let seq = 0;
const waiting = new Map<number, { resolve(t: ProcessEntry[]): void; reject(e: Error): void }>();

function failAll(e: Error): void {
  for (const w of waiting.values()) w.reject(e);
  waiting.clear();
}

function getWorker(): Worker | undefined {
  if (worker || broken) return worker;
  try {
    worker = new Worker(join(__dirname, 'process-worker.js'));
  } catch {
    broken = true;
    return undefined;
  }
  // Idle, it must not keep a CLI process alive.
  worker.unref();
  worker.on('message', (r: Reply) => {
    const w = waiting.get(r.seq);
    if (!w) return;
    waiting.delete(r.seq);
    if (r.table) w.resolve(r.table);
    else w.reject(new Error(r.error ?? 'process table worker failed'));
  });
  worker.on('error', (e) => {
    broken = true;
    worker = undefined;
    failAll(e);
  });
  worker.on('exit', () => {
    worker = undefined;
    failAll(new Error('process table worker exited'));
  });
  return worker;
}

export async function hostProcessTableAsync(initPid: number, extraRoots: number[] = []): Promise<ProcessEntry[]> {
  const w = getWorker();
  if (!w) return hostProcessTable(initPid, extraRoots);
  const n = ++seq;
  const reply = new Promise<ProcessEntry[]>((resolve, reject) => waiting.set(n, { resolve, reject }));
  w.ref(); // while a request is out, the answer must be waited for
  w.postMessage({ seq: n, initPid, extraRoots });
  try {
    return await reply;
  } catch {
    return hostProcessTable(initPid, extraRoots);
  } finally {
    if (waiting.size === 0) worker?.unref();
  }
}
