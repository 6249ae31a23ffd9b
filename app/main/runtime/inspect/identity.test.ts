import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gidMap, mountTable, parseMountInfo, uidMap, unescapeMountField } from './identity';
import { startUnshare } from './testing';

const words = (s: string): string => s.trim().split(/\s+/).join(' ');

test('unescapeMountField decodes the kernel octal escapes', () => {
  assert.equal(unescapeMountField('/a\\040b\\011c\\012d\\134e'), '/a b\tc\nd\\e');
  assert.equal(unescapeMountField('/plain'), '/plain');
  assert.equal(unescapeMountField('/caf\\303\\251'), '/café');
});

test('parseMountInfo handles optional fields and escapes', () => {
  const text =
    '36 35 98:0 /mnt1 /mnt/with\\040space rw,noatime master:1 shared:7 - ext3 /dev/root rw,errors=continue\n' +
    '40 36 0:5 / /proc rw,nosuid - proc proc rw\n';
  assert.deepEqual(parseMountInfo(text), [
    { mountId: 36, parentId: 35, root: '/mnt1', mountPoint: '/mnt/with space', options: 'rw,noatime', fsType: 'ext3', source: '/dev/root' },
    { mountId: 40, parentId: 36, root: '/', mountPoint: '/proc', options: 'rw,nosuid', fsType: 'proc', source: 'proc' },
  ]);
});

test('the host uid_map and gid_map are the identity over all IDs', () => {
  assert.equal(words(uidMap(process.pid)), '0 0 4294967295');
  assert.equal(words(gidMap(process.pid)), '0 0 4294967295');
});

test('a user-namespace container has the map its creator wrote', async (t) => {
  const c = await startUnshare(['--user', '--map-user=0', '--map-group=0', 'sh', '-c', 'echo ready; exec sleep 30']);
  t.after(() => c.stop());
  assert.equal(words(uidMap(c.pid)), '0 0 1');
  assert.equal(words(gidMap(c.pid)), '0 0 1');
  assert.equal(uidMap(c.pid), readFileSync(`/proc/${c.pid}/uid_map`, 'utf8'));
});

test('a mount-namespace container: its new proc and a mount point with a space', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'inspect-mnt-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const spaced = join(dir, 'a b');
  const c = await startUnshare(['--pid', '--fork', '--mount-proc', 'sh', '-c',
    `mkdir -p "${spaced}" && mount -t tmpfs lockertest "${spaced}" && echo ready; exec sleep 30`]);
  t.after(() => c.stop());
  const mounts = mountTable(c.pid);
  const proc = mounts.filter((m) => m.mountPoint === '/proc' && m.fsType === 'proc');
  assert.ok(proc.length >= 1);
  const tmp = mounts.find((m) => m.mountPoint === spaced);
  assert.ok(tmp, 'tmpfs at a path with a space');
  assert.equal(tmp.fsType, 'tmpfs');
  assert.equal(tmp.source, 'lockertest');
  assert.ok(mounts.some((m) => m.mountId === tmp.parentId));
  // the host does not see the container's tmpfs
  assert.equal(mountTable(process.pid).some((m) => m.mountPoint === spaced), false);
  // the container's proc is a different mount than any the host has at /proc
  const hostProcIds = new Set(mountTable(process.pid).filter((m) => m.mountPoint === '/proc').map((m) => m.mountId));
  assert.ok(proc.some((m) => !hostProcIds.has(m.mountId)));
});

test('a vanished process gives a clear error', () => {
  assert.throws(() => uidMap(0x3fffffff), /process \d+ is gone/);
});
