import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspectContainer, inspectContainerAsync } from './index';
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

test('a second inspection comes from the worker as a diff: the same picture, unchanged processes the same objects', async (t) => {
  const c = await startUnshare(['--pid', '--uts', '--fork', '--mount-proc', 'sh', '-c', 'hostname inner; echo ready; exec sleep 30']);
  t.after(() => c.stop());
  const target = { id: `diff-test-${process.pid}`, pid: c.pid };
  const first = await inspectContainerAsync(target);
  // what a caller adds to its object (runtime.inspect adds resources and network) stays its own
  (first as { network?: unknown }).network = { host: [], container: [] };
  const second = await inspectContainerAsync(target);
  assert.equal(second.network, undefined, 'the caller\'s additions are not in the next inspection');
  assert.equal(second.hostname.container, 'inner');
  assert.equal(second.containerProcesses.find((p) => p.pid === c.pid)?.containerPid, 1);
  const init = (i: typeof first) => i.hostProcesses.find((p) => p.pid === 1);
  assert.ok(init(first) && init(second) === init(first), 'the host init entry was not sent again');
  const here = inspectContainer(target);
  assert.deepEqual(second.namespaces, here.namespaces);
  assert.deepEqual(second.containerProcesses.map((p) => [p.pid, p.containerPid]), here.containerProcesses.map((p) => [p.pid, p.containerPid]));
});
