import test from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { inspectContainer, inspectContainerOnly } from './index';
import { startUnshare } from './testing';

test('inspectContainer composes every view of one container', async (t) => {
  const c = await startUnshare(['--pid', '--fork', '--mount-proc', '--uts', '--mount', 'sh', '-c',
    'hostname inside-test; sleep 30 & echo ready; wait']);
  t.after(() => c.stop());
  // "ready" is printed right after the fork: wait until the child has exec'd sleep.
  let i = inspectContainer({ id: 'abc123', pid: c.pid });
  for (let tries = 0; tries < 200 && !i.containerProcesses.some((p) => p.name === 'sleep'); tries++) {
    await new Promise((r) => setTimeout(r, 10));
    i = inspectContainer({ id: 'abc123', pid: c.pid });
  }
  assert.equal(i.id, 'abc123');
  assert.equal(i.pid, c.pid);
  assert.deepEqual(i.hostname, { host: hostname(), container: 'inside-test' });
  assert.ok(i.hostProcesses.length > i.containerProcesses.length);
  assert.ok(i.hostProcesses.some((p) => p.pid === process.pid && !p.inContainer));
  assert.equal(i.containerProcesses.length, 2); // sh (PID 1) and sleep
  assert.equal(i.containerProcesses.find((p) => p.pid === c.pid)?.containerPid, 1);
  assert.equal(i.containerProcesses.find((p) => p.name === 'sleep')?.containerPpid, 1);
  assert.ok(i.containerProcesses.every((p) => p.inContainer));
  const ns = Object.fromEntries(i.namespaces.map((n) => [n.type, n.shared]));
  assert.deepEqual(ns, { cgroup: true, ipc: true, mnt: false, net: true, pid: false, time: true, user: true, uts: false });
  assert.equal(i.uidMap.trim().split(/\s+/).join(' '), '0 0 4294967295');
  assert.equal(i.gidMap.trim().split(/\s+/).join(' '), '0 0 4294967295');
  assert.ok(i.mounts.some((m) => m.mountPoint === '/proc' && m.fsType === 'proc'));
  JSON.stringify(i); // plain data
});

test('inspectContainerOnly is inspectContainer without the host table', async (t) => {
  const c = await startUnshare(['--pid', '--fork', '--mount-proc', '--uts', '--mount', 'sh', '-c',
    'hostname only-test; sleep 30 & sleep 30 & echo ready; wait']);
  t.after(() => c.stop());
  let whole = inspectContainer({ id: 'c0ffee', pid: c.pid });
  for (let tries = 0; tries < 200 && whole.containerProcesses.filter((p) => p.name === 'sleep').length < 2; tries++) {
    await new Promise((r) => setTimeout(r, 10));
    whole = inspectContainer({ id: 'c0ffee', pid: c.pid });
  }
  const { hostProcesses, ...rest } = whole;
  assert.ok(hostProcesses.length > rest.containerProcesses.length);
  assert.equal(rest.containerProcesses.length, 3);
  assert.deepEqual(inspectContainerOnly({ id: 'c0ffee', pid: c.pid }), rest);
  // The full one keeps its keys in the order locker inspect has always printed them.
  assert.deepEqual(Object.keys(whole), ['id', 'pid', 'hostname', 'hostProcesses', 'containerProcesses', 'namespaces', 'uidMap', 'gidMap', 'mounts', 'confinement']);
});
