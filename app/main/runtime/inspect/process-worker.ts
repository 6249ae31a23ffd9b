// Worker thread entry: inspects containers (the host process table, namespaces, mounts, the
// hostname, confinement) and reads the NAT counters with `nft`, off the main thread. With thousands
// of host processes a table costs ~100 ms of synchronous /proc reads, and the hostname and `nft`
// are synchronous spawns: any of them would stall the UI's event loop. (Interfaces are netlink
// dumps the main thread makes itself: network/interfaces.ts.)
import { parentPort } from 'node:worker_threads';
import { diffInspection, type InspectionDiff } from '../../../shared/inspection-diff';
import type { Inspection } from '../../../shared/types';
import { inspectContainer } from './index';
import { hostProcessTable } from './processes';

export type WorkerRequest =
  | { kind: 'table'; initPid: number; extraRoots: number[] }
  /** base: the seq of the copy of this container's last inspection the main thread holds. */
  | { kind: 'inspect'; container: { id: string; pid: number; execPids?: number[] }; base?: number };

/** The whole inspection, or what changed since the copy `base` (the main thread applies it). */
export type InspectReply = { seq: number; full: Inspection } | { seq: number; base: number; changes: InspectionDiff };

/** Containers whose last inspection is kept (the most recently inspected), as on the main side. */
const MAX_COPIES = 32;

const sent = new Map<string, { seq: number; inspection: Inspection }>();
let counter = 0;

function inspect(req: Extract<WorkerRequest, { kind: 'inspect' }>): InspectReply {
  const { id } = req.container;
  const prev = sent.get(id);
  sent.delete(id);
  const next = inspectContainer(req.container);
  const seq = ++counter;
  sent.set(id, { seq, inspection: next });
  for (const oldest of sent.keys()) {
    if (sent.size <= MAX_COPIES) break;
    sent.delete(oldest);
  }
  return prev && prev.seq === req.base ? { seq, base: prev.seq, changes: diffInspection(prev.inspection, next) } : { seq, full: next };
}

function answer(req: WorkerRequest): unknown {
  if (req.kind === 'table') return hostProcessTable(req.initPid, req.extraRoots);
  return inspect(req);
}

parentPort?.on('message', (req: WorkerRequest & { seq: number }) => {
  let value: unknown;
  try {
    value = answer(req);
  } catch (e) {
    parentPort!.postMessage({ seq: req.seq, error: (e as Error).message });
    return;
  }
  if (!(value instanceof Promise)) parentPort!.postMessage({ seq: req.seq, value });
  else value.then((v) => parentPort!.postMessage({ seq: req.seq, value: v }), (e: Error) => parentPort!.postMessage({ seq: req.seq, error: e.message }));
});
