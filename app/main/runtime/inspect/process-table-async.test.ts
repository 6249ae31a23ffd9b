import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostProcessTableAsync } from './process-table-async';
import { hostProcessTable } from './processes';
import { startUnshare } from './testing';

test('the worker builds the same table, marks the container, and leaves the event loop free', async (t) => {
  const c = await startUnshare(['--pid', '--fork', '--mount-proc', 'sh', '-c', 'echo ready; exec sleep 30']);
  t.after(() => c.stop());
  const [viaWorker, here] = [await hostProcessTableAsync(c.pid), hostProcessTable(c.pid)];
  const stable = (table: typeof here) => table.filter((p) => p.pid === process.pid || p.inContainer).map((p) => [p.pid, p.inContainer, p.containerPid]);
  assert.deepEqual(stable(viaWorker), stable(here));
  assert.equal(viaWorker.find((p) => p.pid === c.pid)?.containerPid, 1);
  assert.ok(Math.abs(viaWorker.length - here.length) < 20, `${viaWorker.length} vs ${here.length} processes`);

  // While the worker reads /proc, timers here keep firing.
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  await Promise.all(Array.from({ length: 20 }, () => hostProcessTableAsync(c.pid)));
  clearInterval(timer);
  assert.ok(ticks > 0, 'the main thread ran timers during the snapshots');
});
