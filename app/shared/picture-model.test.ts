// The kernel picture's model: boxes from an inspection (as the runtime returns it for a real
// container) and the syscall log, and how the log moves the picture during step-through.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RootfsLayers, SyscallRecord } from './api';
import { buildPicture, describeIdMap, namespacesMade, parseIdMap, type Picture } from './picture-model';
import type { Inspection, NetworkInterface } from './types';

let seq = 0;
const rec = (where: 'host' | 'child', name: string, args: string, result = '0', extra: Partial<SyscallRecord> = {}): SyscallRecord => ({ seq: ++seq, where, name, args, result, t: 0, ...extra });

const CLONE = rec('host', 'clone', 'CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWPID|CLONE_NEWNET|SIGCHLD', '9626');
const UNSHARE = rec('child', 'unshare', 'CLONE_NEWCGROUP');
const OVERLAY = rec('child', 'mount', '"overlay", "/d/containers/c0ffee/rootfs", "overlay", MS_NODEV, "lowerdir=/d/images/b/rootfs,upperdir=/d/containers/c0ffee/upper,workdir=/d/containers/c0ffee/work"');
const PIVOT = rec('child', 'pivot_root', '".", "."');
const HOSTNAME = rec('child', 'sethostname', '"demo", 4');
const EXEC = rec('child', 'execve', '"/bin/sh", ["sh"], [5 vars]', '0', { inferred: 'eof' });

const iface = (name: string, extra: Partial<NetworkInterface> = {}): NetworkInterface => ({ name, index: 1, state: 'UP', up: true, mac: '02:00:00:00:00:01', mtu: 1500, addresses: [], ...extra });
const ns = (type: Inspection['namespaces'][number]['type'], shared: boolean) => ({ type, host: `${type}:[4026531800]`, container: shared ? `${type}:[4026531800]` : `${type}:[4026532200]`, shared });

function inspection(over: Partial<Inspection> = {}): Inspection {
  return {
    id: 'c0ffee000000', pid: 9626, hostname: { host: 'vm', container: 'demo' },
    hostProcesses: [], containerProcesses: [{ pid: 9626, ppid: 9618, name: 'sh', cmdline: '/bin/sh', inContainer: true, containerPid: 1, containerPpid: 0 },
      { pid: 9700, ppid: 9626, name: 'sleep', cmdline: 'sleep 9', inContainer: true, containerPid: 7, containerPpid: 1 }],
    namespaces: [ns('cgroup', false), ns('ipc', false), ns('mnt', false), ns('net', false), ns('pid', false), ns('time', true), ns('user', true), ns('uts', false)],
    uidMap: '         0          0 4294967295\n', gidMap: '         0          0 4294967295\n',
    mounts: [
      { mountId: 95, parentId: 55, root: '/', mountPoint: '/', options: 'rw,nodev,relatime', fsType: 'overlay', source: 'overlay' },
      { mountId: 98, parentId: 97, root: '/null', mountPoint: '/dev/null', options: 'rw', fsType: 'devtmpfs', source: 'devtmpfs' },
      { mountId: 120, parentId: 95, root: '/srv/data', mountPoint: '/data', options: 'rw,relatime', fsType: 'ext4', source: '/dev/vda1' },
    ],
    network: {
      info: { mode: 'bridge', address: '10.88.0.3', gateway: '10.88.0.1', bridge: 'locker0', hostVeth: 'lkc0ffee0000', containerInterface: 'eth0' },
      host: [iface('locker0', { kind: 'bridge', addresses: [{ family: 'inet', address: '10.88.0.1', prefixLength: 24 }] }), iface('lkc0ffee0000', { kind: 'veth', master: 'locker0' }), iface('lk99', { kind: 'veth', master: 'locker0' })],
      container: [iface('lo', { addresses: [{ family: 'inet', address: '127.0.0.1', prefixLength: 8 }] }), iface('eth0', { kind: 'veth', addresses: [{ family: 'inet', address: '10.88.0.3', prefixLength: 24 }] })],
    },
    resources: {
      paths: ['/sys/fs/cgroup/memory/locker/c0ffee000000'], limits: { memory: 64 << 20, pidsLimit: 20 },
      stats: { pidsCurrent: 2, pidsMax: 20, pidsRejected: 0, memoryCurrent: 405504, memoryMax: 64 << 20, memoryEvents: { oom: 0, oomKill: 0, max: 0 }, cpuUsageUsec: 1, nrThrottled: 0, throttledUsec: 0 },
    },
    ...over,
  };
}

const layers: RootfsLayers = {
  mountPoint: '/', lower: ['/d/images/b/rootfs'], upper: '/d/containers/c0ffee/upper', work: '/d/containers/c0ffee/work',
  upperEntries: [{ name: 'newfile', type: 'file', size: 0, mode: 0o644, uid: 0, gid: 0 }, { name: 'gone', type: 'char', size: 0, mode: 0, uid: 0, gid: 0 }, { name: 'root', type: 'dir', size: 0, mode: 0o700, uid: 0, gid: 0 }],
  truncated: false,
};

const box = (p: Picture, id: string) => {
  const b = p.boxes.find((x) => x.id === id);
  assert.ok(b, `no box ${id}; boxes: ${p.boxes.map((x) => x.id).join(' ')}`);
  return b;
};
const has = (p: Picture, id: string) => p.boxes.some((x) => x.id === id);

test('a running container: namespaces around its processes, ids, veth to the bridge, layers, cgroup, binds', () => {
  const p = buildPicture({ inspection: inspection(), records: [CLONE, UNSHARE, OVERLAY, PIVOT, HOSTNAME, EXEC], layers, name: 'c0ffee000000' });
  assert.equal(p.stage, 'running');
  assert.equal(box(p, 'container').title, 'container demo');
  assert.match(box(p, 'container').lines[1], /root: the image \(pivot_root\)/);
  for (const t of ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'uts']) assert.equal(box(p, `ns:${t}`).parent, 'container');
  assert.ok(!has(p, 'ns:user') && !has(p, 'ns:time'));
  assert.deepEqual(box(p, 'ns:shared').lines, ['time, user']);
  assert.equal(box(p, 'procs').parent, 'ns:pid');
  assert.equal(box(p, 'proc:9626').title, '9626 ↔ 1');
  assert.equal(box(p, 'proc:9700').title, '9700 ↔ 7');
  assert.deepEqual(box(p, 'idmap:uid').lines, ["0 ↔ 0, every id: the host's own"]);
  assert.deepEqual(box(p, 'ns:uts').lines, ['hostname', '4026532200 (host 4026531800)']);
  assert.deepEqual(box(p, 'bridge:locker0').lines, ['10.88.0.1/24']);
  assert.ok(has(p, 'if:host:lkc0ffee0000') && !has(p, 'if:host:lk99'), "this container's veth, not another's");
  assert.deepEqual(box(p, 'if:eth0').lines, ['10.88.0.3/24', '02:00:00:00:00:01']);
  assert.ok(p.edges.some((e) => e.from === 'if:host:lkc0ffee0000' && e.to === 'if:eth0' && e.label === 'veth pair'));
  assert.deepEqual(box(p, 'rule:route').lines, ['via 10.88.0.1']);
  assert.deepEqual(box(p, 'layer:upper').lines, ['/d/containers/c0ffee/upper']);
  assert.deepEqual(box(p, 'layer:lower:0').lines, ['/d/images/b/rootfs']);
  assert.deepEqual(box(p, 'changes').lines, ['newfile', '✕ gone (deleted)', 'root/'], 'in the order listed, deletions marked');
  assert.deepEqual(box(p, 'bind:/data').lines, ['/dev/vda1:/srv/data (ext4, rw)']);
  assert.ok(!has(p, 'bind:/dev/null'), "the runtime's /dev nodes are not volumes");
  assert.deepEqual(box(p, 'cgroup').lines, ['pids 2 of 20', 'memory 396 KiB of 64.0 MiB']);
  assert.match(p.caption!, /^the program now runs: \/bin\/sh .*inferred/);
});

test('step-through: the log moves the picture before the inspection catches up', () => {
  // just cloned: namespace boxes from the clone flags, the setup process, host root, the host's name
  const cloned = buildPicture({ inspection: null, records: [CLONE], name: 'c0ffee000000' });
  assert.equal(cloned.stage, 'cloned');
  assert.deepEqual(['mnt', 'uts', 'ipc', 'pid', 'net'].map((t) => has(cloned, `ns:${t}`)), [true, true, true, true, true]);
  assert.ok(!has(cloned, 'ns:cgroup'), 'the cgroup namespace comes later, with unshare');
  assert.equal(box(cloned, 'proc:9626').title, '9626 ↔ 1');
  assert.equal(box(cloned, 'container').title, 'container c0ffee000000');
  assert.match(cloned.caption!, /born in new mount, UTS/);
  assert.ok(has(buildPicture({ inspection: null, records: [CLONE, UNSHARE], name: 'x' }), 'ns:cgroup'));

  // the inspection of the paused process: the UTS namespace still holds the host's name
  const early = inspection({ hostname: { host: 'vm', container: 'vm' } });
  const before = buildPicture({ inspection: early, records: [CLONE, UNSHARE, OVERLAY], name: 'c0ffee000000' });
  assert.equal(box(before, 'container').title, 'container vm');
  assert.match(box(before, 'container').lines[1], /host \/ \(the image is mounted at \/d\/containers\/c0ffee\/rootfs, not yet its root\)/);
  assert.equal(box(before, 'rootfs').title, 'overlay at /d/containers/c0ffee/rootfs', 'layers from the mount call, before any listing');
  assert.ok(box(before, 'layer:upper').fresh);

  const pivoted = buildPicture({ inspection: early, records: [CLONE, UNSHARE, OVERLAY, PIVOT], name: 'c0ffee000000' });
  assert.equal(pivoted.stage, 'pivoted');
  assert.match(box(pivoted, 'container').lines[1], /root: the image \(pivot_root\)/);
  assert.ok(box(pivoted, 'container').fresh);

  const named = buildPicture({ inspection: early, records: [CLONE, UNSHARE, OVERLAY, PIVOT, HOSTNAME], name: 'c0ffee000000' });
  assert.equal(box(named, 'container').title, 'container demo', 'sethostname names the box at once');
  assert.equal(named.caption, "the container's UTS namespace now calls itself demo");
});

test('id maps: rootful user namespace, rootless, and the namespaces a log made', () => {
  const userns = inspection({ namespaces: [ns('user', false), ns('pid', false)], uidMap: '0 100000 65536\n', gidMap: '0 100000 65536\n' });
  const p = buildPicture({ inspection: userns, records: [], name: 'x' });
  assert.equal(box(p, 'idmap:uid').parent, 'ns:user');
  assert.deepEqual(box(p, 'idmap:uid').lines, ['0 ↔ 100000 (65536 ids)']);
  assert.ok(!has(p, 'idmap:gid'), 'an identical gid map is not drawn twice');
  const rootless = buildPicture({ inspection: inspection({ namespaces: [ns('user', false)], uidMap: '0 1000 1\n', gidMap: '0 1000 1\n' }), records: [], name: 'x', hostUid: 1000 });
  assert.deepEqual(box(rootless, 'idmap:uid').lines, ['0 ↔ 1000']);
  assert.ok(rootless.edges.some((e) => e.label === 'root inside is uid 1000 (you) outside'));
  assert.deepEqual(parseIdMap('0 1000 1\n1 100000 65536\n'), [{ inside: 0, outside: 1000, count: 1 }, { inside: 1, outside: 100000, count: 65536 }]);
  assert.equal(describeIdMap({ inside: 0, outside: 1000, count: 1 }), '0 ↔ 1000');
  assert.deepEqual(namespacesMade([CLONE, UNSHARE, rec('child', 'unshare', 'CLONE_NEWUSER', '-1', { errno: 'EPERM' })]).sort(), ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'uts']);
  assert.deepEqual(buildPicture({ inspection: null, records: [], name: 'x' }).boxes.map((b) => b.id), ['host'], 'nothing cloned: only the host');
});

test('NAT and published ports as the runtime reports them: the nft table\'s NAT rules, each port with how it is carried', () => {
  const base = inspection();
  const withNat = inspection({
    network: {
      ...base.network!,
      info: {
        ...base.network!.info!,
        nat: { table: 'locker_c0ffee', rules: 'table ip locker_c0ffee {\n\tchain post {\n\t\tip saddr 10.88.0.3 oifname != "locker0" masquerade\n\t}\n\tchain pre {\n\t\ttcp dport 8080 dnat to 10.88.0.3:80\n\t}\n}\n' },
        published: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp', via: 'dnat' }],
      },
    },
  });
  const p = buildPicture({ inspection: withNat, records: [], layers, name: 'demo', hostUid: 0, hostHostname: 'vm' });
  assert.deepEqual(box(p, 'rule:nat:locker_c0ffee').lines, ['ip saddr 10.88.0.3 oifname != "locker0" masquerade', 'tcp dport 8080 dnat to 10.88.0.3:80']);
  assert.deepEqual(box(p, 'rule:port:tcp:8080').lines, ['host :8080 → 10.88.0.3:80/tcp (dnat)']);
});
