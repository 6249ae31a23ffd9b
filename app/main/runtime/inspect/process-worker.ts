// Worker thread entry: builds host process tables off the main thread. With thousands of host
// processes a table costs ~100 ms of synchronous /proc reads, which would stall the UI's event loop.
import { parentPort } from 'node:worker_threads';
import { hostProcessTable } from './processes';

export interface TableRequest { seq: number; initPid: number; extraRoots: number[] }

parentPort?.on('message', (req: TableRequest) => {
  try {
    parentPort!.postMessage({ seq: req.seq, table: hostProcessTable(req.initPid, req.extraRoots) });
  } catch (e) {
    parentPort!.postMessage({ seq: req.seq, error: (e as Error).message });
  }
});
