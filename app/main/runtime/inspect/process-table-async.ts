// Inspections (the host process table and the rest of /proc's view of a container) and the NAT
// counters `nft` lists, built in one long-lived worker thread (process-worker.ts) so that a refresh
// never blocks the main event loop: with thousands of host processes a table costs ~100 ms of /proc
// reads, the container's hostname is a spawn joining its UTS namespace, and each `nft list` a
// synchronous spawn. Falls back to doing it here if the worker fails.
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Inspection, NetworkInterface, ProcessEntry } from '../../../shared/types';
import { hostProcessTable } from './processes';
import type { InspectReply, WorkerRequest } from './process-worker';
import { applyInspectionDiff } from '../../../shared/inspection-diff';

type Reply = { seq: number; value?: unknown; error?: string };

let worker: Worker | undefined;
let broken = false;
let seq = 0;
const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();

function failAll(e: Error): void {
  for (const w of waiting.values()) w.reject(e);
  waiting.clear();
}

function getWorker(): Worker | undefined {
  if (worker || broken) return worker;
  try {
    // The hostname's spawn closes descriptors the native helper made (not fs.open's): untracked,
    // or each close would print a warning.
    worker = new Worker(join(__dirname, 'process-worker.js'), { trackUnmanagedFds: false });
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
    if (r.error === undefined) w.resolve(r.value);
    else w.reject(new Error(r.error));
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

/** Asks the worker; undefined when there is none (the caller does the work itself). */
async function ask<T>(req: WorkerRequest): Promise<{ value: T } | undefined> {
  const w = getWorker();
  if (!w) return undefined;
  const n = ++seq;
  const reply = new Promise<unknown>((resolve, reject) => waiting.set(n, { resolve, reject }));
  w.ref(); // while a request is out, the answer must be waited for
  w.postMessage({ ...req, seq: n });
  try {
    return { value: (await reply) as T };
  } finally {
    if (waiting.size === 0) worker?.unref();
  }
}

export async function hostProcessTableAsync(initPid: number, extraRoots: number[] = []): Promise<ProcessEntry[]> {
  try {
    const got = await ask<ProcessEntry[]>({ kind: 'table', initPid, extraRoots });
    if (got) return got.value;
  } catch {
    // the worker failed: build it here
  }
  return hostProcessTable(initPid, extraRoots);
}

/**
 * The last inspection of each recently inspected container, as the worker sent it: the worker then
 * sends only what changed since (inspection-diff.ts), so the host table does not cross the thread
 * boundary (and become garbage here) at every refresh; unchanged entries stay the same objects.
 */
const copies = new Map<string, { seq: number; inspection: Inspection }>();
/** Containers kept (the most recently inspected); one evicted on either side is simply sent whole next time. */
const MAX_COPIES = 32;

/** The whole of inspectContainer (index.ts), gathered in the worker. */
export async function inspectInWorker(c: { id: string; pid: number; execPids?: number[] }, here: () => Inspection): Promise<Inspection> {
  let got: { value: InspectReply } | undefined;
  try {
    got = await ask<InspectReply>({ kind: 'inspect', container: c, base: copies.get(c.id)?.seq });
    // a diff on a copy this side no longer holds (two inspections of one container crossed): ask for it whole
    if (got && 'changes' in got.value && copies.get(c.id)?.seq !== got.value.base) got = await ask<InspectReply>({ kind: 'inspect', container: c });
  } catch (e) {
    copies.delete(c.id);
    // the container's process went while it was read: the same failure as here
    if (worker) throw e;
  }
  if (!got) return here();
  const reply = got.value;
  const inspection = 'full' in reply ? reply.full : applyInspectionDiff(copies.get(c.id)!.inspection, reply.changes);
  copies.delete(c.id); // re-inserted last: the map's order is the order of use
  copies.set(c.id, { seq: reply.seq, inspection });
  for (const oldest of copies.keys()) {
    if (copies.size <= MAX_COPIES) break;
    copies.delete(oldest);
  }
  // the caller adds its parts (resources, network) to its own object, never to the copy
  return { ...inspection };
}

/**
 * The interfaces of the host or of `pid`'s network namespace (network/interfaces.ts): netlink dumps
 * on this thread (a few syscalls that never wait; a container's socket is made by a thread of its
 * own), so they need no trip to the worker.
 */
export function interfacesAsync(pid: number | 'host'): Promise<NetworkInterface[]> {
  // loaded on first use: it pulls in the native helper
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../network/interfaces') as typeof import('../network/interfaces')).interfaces(pid);
}
