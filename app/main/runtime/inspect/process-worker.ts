// Worker thread entry: inspects containers (the host process table, namespaces, mounts, the
// hostname, confinement) and lists interfaces with `ip`, off the main thread. With thousands of
// host processes a table costs ~100 ms of synchronous /proc reads, and the hostname and `ip` are
// synchronous spawns: any of them would stall the UI's event loop.
import { parentPort } from 'node:worker_threads';
import { inspectContainer } from './index';
import { hostProcessTable } from './processes';

export type WorkerRequest =
  | { kind: 'table'; initPid: number; extraRoots: number[] }
  | { kind: 'inspect'; container: { id: string; pid: number; execPids?: number[] } }
  | { kind: 'interfaces'; pid: number | 'host' };

function answer(req: WorkerRequest): unknown {
  if (req.kind === 'table') return hostProcessTable(req.initPid, req.extraRoots);
  if (req.kind === 'inspect') return inspectContainer(req.container);
  // loaded only when asked: iproute2 and the native helper are not needed for tables
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { interfaces } = require('../network/interfaces') as typeof import('../network/interfaces');
  return interfaces(req.pid);
}

parentPort?.on('message', (req: WorkerRequest & { seq: number }) => {
  try {
    parentPort!.postMessage({ seq: req.seq, value: answer(req) });
  } catch (e) {
    parentPort!.postMessage({ seq: req.seq, error: (e as Error).message });
  }
});
