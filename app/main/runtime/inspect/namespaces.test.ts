import test from 'node:test';
import assert from 'node:assert/strict';
import { readlinkSync } from 'node:fs';
import { compareNamespaces, NAMESPACE_TYPES, namespaceLink, sharesNamespace } from './namespaces';
import { startUnshare } from './testing';

const byType = (pid: number): Record<string, { shared: boolean; host: string; container: string }> =>
  Object.fromEntries(compareNamespaces(pid).map((n) => [n.type, n]));

test('the runtime shares every namespace with itself', () => {
  const all = compareNamespaces(process.pid);
  assert.deepEqual(all.map((n) => n.type), [...NAMESPACE_TYPES]);
  for (const n of all) {
    assert.equal(n.shared, true);
    assert.match(n.host, new RegExp(`^${n.type}:\\[\\d+\\]$`));
    assert.equal(n.host, readlinkSync(`/proc/self/ns/${n.type}`));
  }
});

test('a UTS-only container has its own uts and shares the pid namespace (and the rest)', async (t) => {
  const c = await startUnshare(['--uts', 'sh', '-c', 'echo ready; exec sleep 30']);
  t.after(() => c.stop());
  const ns = byType(c.pid);
  assert.equal(ns.uts.shared, false);
  assert.equal(ns.uts.container, readlinkSync(`/proc/${c.pid}/ns/uts`));
  for (const type of ['pid', 'mnt', 'net', 'ipc', 'user', 'cgroup', 'time']) assert.equal(ns[type].shared, true, type);
  assert.equal(sharesNamespace(c.pid, 'uts'), false);
  assert.equal(sharesNamespace(c.pid, 'pid'), true);
});

test('a pid+mnt+net+ipc container shares uts and user but not the others', async (t) => {
  const c = await startUnshare(['--pid', '--fork', '--mount-proc', '--net', '--ipc', 'sh', '-c', 'echo ready; exec sleep 30']);
  t.after(() => c.stop());
  const ns = byType(c.pid);
  for (const type of ['pid', 'mnt', 'net', 'ipc']) {
    assert.equal(ns[type].shared, false, type);
    assert.equal(ns[type].container, readlinkSync(`/proc/${c.pid}/ns/${type}`));
  }
  for (const type of ['uts', 'user', 'cgroup', 'time']) assert.equal(ns[type].shared, true, type);
});

test('a vanished process gives a clear error', () => {
  assert.throws(() => namespaceLink(0x3fffffff, 'uts'), /process \d+ is gone/);
});
