import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detect, parseMountinfo, V1_ROOTLESS_REASON } from './detect';

const HYBRID = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

test('parses cgroup mounts from mountinfo (escapes, optional fields)', () => {
  const ms = parseMountinfo(
    HYBRID + '50 23 0:40 /docker/x /mnt/with\\040space rw shared:5 master:1 - cgroup cgroup rw,cpu,cpuacct\n99 1 0:1 / /proc rw - proc proc rw\n',
  );
  assert.equal(ms.length, 7);
  assert.deepEqual(ms[6], { root: '/docker/x', mountPoint: '/mnt/with space', fsType: 'cgroup', superOptions: ['rw', 'cpu', 'cpuacct'] });
  assert.equal(ms.find((m) => m.fsType === 'cgroup2')?.mountPoint, '/sys/fs/cgroup/unified');
});

test('hybrid host as root: v1 controllers serve the limits', () => {
  const l = detect({ mountinfo: HYBRID, uid: 0, writable: () => true });
  assert.equal(l.version, 'hybrid');
  assert.equal(l.v2Root, '/sys/fs/cgroup/unified');
  assert.deepEqual(l.v1Roots, {
    memory: '/sys/fs/cgroup/memory',
    cpu: '/sys/fs/cgroup/cpu',
    cpuacct: '/sys/fs/cgroup/cpuacct',
    pids: '/sys/fs/cgroup/pids',
  });
  assert.deepEqual(l.backend, { memory: 'v1', cpu: 'v1', pids: 'v1' });
  assert.equal(l.canWrite, true);
  assert.equal(l.reason, undefined);
});

test('hybrid host rootless: explains that v1 cannot be delegated', () => {
  const l = detect({ mountinfo: HYBRID, uid: 1000, selfCgroup: '4:memory:/user\n0::/user.slice\n', writable: () => false });
  assert.equal(l.canWrite, false);
  assert.equal(l.reason, V1_ROOTLESS_REASON);
  assert.deepEqual(l.backend, { memory: null, cpu: null, pids: null });
});

test('pure v1 host', () => {
  const mi = HYBRID.split('\n').filter((x) => !x.includes('cgroup2')).join('\n');
  assert.equal(detect({ mountinfo: mi, uid: 0, writable: () => true }).version, 'v1');
  const ro = detect({ mountinfo: mi, uid: 0, writable: () => false });
  assert.equal(ro.canWrite, false);
  assert.match(ro.reason ?? '', /read-only/);
});

test('no cgroups mounted', () => {
  const l = detect({ mountinfo: '99 1 0:1 / /proc rw - proc proc rw\n', uid: 0 });
  assert.equal(l.version, 'none');
  assert.equal(l.canWrite, false);
  assert.match(l.reason ?? '', /no cgroup filesystem/);
});

// A directory laid out like a v2 hierarchy; file logic only, the kernel is not involved.
function v2Tree(): { root: string; mountinfo: string } {
  const root = mkdtempSync(join(tmpdir(), 'locker-v2-'));
  writeFileSync(join(root, 'cgroup.controllers'), 'cpuset cpu io memory hugetlb pids rdma misc\n');
  const user = join(root, 'user.slice/user-1000.slice/user@1000.service/app.slice/locker.scope');
  mkdirSync(user, { recursive: true });
  writeFileSync(join(user, 'cgroup.controllers'), 'memory pids\n');
  return { root, mountinfo: `30 23 0:26 / ${root} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n` };
}

test('v2 file format: pure v2 as root uses the mount root and its controllers', () => {
  const { root, mountinfo } = v2Tree();
  try {
    const l = detect({ mountinfo, uid: 0, writable: () => true });
    assert.equal(l.version, 'v2');
    assert.equal(l.v2Parent, root);
    assert.deepEqual(l.v2Controllers, ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids', 'rdma', 'misc']);
    assert.deepEqual(l.backend, { memory: 'v2', cpu: 'v2', pids: 'v2' });
    assert.equal(l.canWrite, true);
    assert.equal(l.reason, undefined);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('v2 file format: rootless with a delegated subtree', () => {
  const { root, mountinfo } = v2Tree();
  const self = '/user.slice/user-1000.slice/user@1000.service/app.slice/locker.scope';
  try {
    const delegated = (p: string): boolean => p.startsWith(join(root, self));
    const l = detect({ mountinfo, uid: 1000, selfCgroup: `0::${self}\n`, writable: delegated });
    assert.equal(l.rootless, true);
    assert.equal(l.canWrite, true);
    assert.equal(l.v2Parent, join(root, self));
    assert.deepEqual(l.backend, { memory: 'v2', cpu: null, pids: 'v2' });
    assert.match(l.reason ?? '', /^the cpu controller is not available in the delegated subtree /);

    // After createCgroup moved us into the supervisor leaf, the delegated cgroup is still its parent.
    const again = detect({ mountinfo, uid: 1000, selfCgroup: `0::${self}/locker-supervisor\n`, writable: delegated });
    assert.equal(again.v2Parent, join(root, self));

    const notDelegated = detect({ mountinfo, uid: 1000, selfCgroup: `0::${self}\n`, writable: () => false });
    assert.equal(notDelegated.canWrite, false);
    assert.match(notDelegated.reason ?? '', /is not delegated to uid 1000; .*systemd-run --user --scope -p Delegate=yes/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('this host', () => {
  const l = detect();
  assert.ok(['v2', 'v1', 'hybrid', 'none'].includes(l.version));
  if (l.canWrite) assert.ok(Object.values(l.backend).some((b) => b !== null) || l.version === 'v2');
  else assert.ok(l.reason);
});
