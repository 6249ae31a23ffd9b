// Lesson files: the shipped ones load, a teacher's mistakes come back as one line each (file,
// field, fix), and every verify rule is checked against real containers run in this process.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import type { VerifyRule } from '../../shared/api';
import type { Namespace, RunSpec } from '../../shared/types';
import { hostLayout } from '../runtime/cgroups';
import { Runtime } from '../runtime/runtime';
import { loadLessons } from './loader';
import { EnteredLines, LineAssembler } from './typed-lines';
import { interfaceNames, lstatInside, natCounts, outsideUidOfRoot, snmpField, verifyRules } from './verify';
import { connect } from 'node:net';
import { spawnSync } from 'node:child_process';
import type { LessonStep } from '../../shared/api';

const minimal = (steps: unknown[] = [step()]) => ({ id: 'mine', title: 'Mine', steps });
function step(over: Record<string, unknown> = {}) {
  return { id: 'one', title: 'One', explain: 'text', preset: { namespaces: ['uts'] }, commands: [{ pane: 'container', run: 'hostname' }], lookFor: 'x', verify: [{ namespaceSeparate: 'uts' }, { ran: 0 }], ...over };
}

function folder(files: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'locker-lessons-'));
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), typeof body === 'string' ? body : JSON.stringify(body));
  return dir;
}

test('the shipped lessons load without problems and cover the classic story', () => {
  const list = loadLessons();
  assert.deepEqual(list.problems, []);
  const classic = list.lessons.find((l) => l.id === 'classic');
  assert.ok(classic);
  assert.deepEqual(classic.steps.map((s) => s.id), ['plain', 'uts', 'pid-old-proc', 'pid-fresh-proc', 'mnt-pivot-root', 'user', 'ipc-net', 'cgroups']);
  assert.deepEqual(classic.steps[0].preset.namespaces, []);
  assert.equal(classic.steps[7].preset.pidsLimit, 20);
  assert.ok(classic.steps.every((s) => s.commands.length > 0 && s.verify.length > 0));
});

const bad: [string, unknown, RegExp][] = [
  ['broken JSON', '{ "id": "x", ', /^broken JSON\.json: \(file\): is not valid JSON .*check commas and quotes$/],
  ['typo in a rule', minimal([step({ verify: [{ namespaceSeperate: 'uts' }] })]), /steps\[0\]\.verify\[0\]\.namespaceSeperate: unknown rule; did you mean "namespaceSeparate"\?/],
  ['unknown namespace', minimal([step({ preset: { namespaces: ['utc'] } })]), /steps\[0\]\.preset\.namespaces\[0\]: "utc" is not a namespace; use one of pid, uts.*did you mean "uts"/],
  ['two rules in one', minimal([step({ verify: [{ pid1Is: 'sh', hostnameDiffers: true }] })]), /steps\[0\]\.verify\[0\]: must have exactly one rule, has 2; split it/],
  ['quoted boolean', minimal([step({ verify: [{ hostnameDiffers: 'yes' }] })]), /verify\[0\]\.hostnameDiffers: must be true or false \(no quotes\)/],
  ['string pids limit', minimal([step({ verify: [{ pidsLimit: '20' }] })]), /verify\[0\]\.pidsLimit: must be a whole number ≥ 1 \(no quotes\)/],
  ['hostname without uts', minimal([step({ preset: { namespaces: ['pid'], hostname: 'demo' } })]), /preset\.hostname: needs "uts" in namespaces/],
  ['bad pane', minimal([step({ commands: [{ pane: 'guest', run: 'ls' }] })]), /commands\[0\]\.pane: must be "host" or "container"/],
  ['missing lookFor', minimal([(() => { const s = step(); delete (s as Record<string, unknown>).lookFor; return s; })()]), /steps\[0\]: is missing "lookFor"/],
  ['misspelled field', minimal([step({ explian: 'x' })]), /steps\[0\]\.explian: unknown field; did you mean "explain"\?/],
  ['duplicate step ids', minimal([step(), step()]), /steps\[1\]\.id: "one" is used by an earlier step/],
  ['no steps', { id: 'x', title: 'X', steps: [] }, /steps: must be a non-empty list/],
  ['bad memory', minimal([step({ preset: { namespaces: [], memory: 'lots' } })]), /preset\.memory: "lots": expected a size like 64m or 1g/],
  ['empty verify', minimal([step({ verify: [] })]), /verify: must be a non-empty list of rules/],
  ['a step that holds at launch', minimal([step({ verify: [{ namespaceSeparate: 'uts' }] })]), /steps\[0\]\.verify: holds at launch, before the learner does anything; add a rule only their action makes true, e\.g\. \{ "ran": 0 \}/],
  ['a quoted oomKilled', minimal([step({ verify: [{ oomKilled: 'yes' }, { ran: 0 }] })]), /verify\[0\]\.oomKilled: must be true or false \(no quotes\)/],
  ['cpuThrottled false as the only check', minimal([step({ verify: [{ cpuThrottled: false }] })]), /steps\[0\]\.verify: holds at launch, before the learner does anything/],
  ['a propagation Locker refuses', minimal([step({ preset: { namespaces: ['mnt'], volumes: ['{share}/x:/x:rshared'] } })]), /preset\.volumes\[0\]: -v "\/share\/x:\/x:rshared": rshared is not supported/],
  ['ran past the commands', minimal([step({ verify: [{ ran: 3 }] })]), /steps\[0\]\.verify\[0\]\.ran: is 3, but the step has 1 command \(counted from 0\)/],
  ['a volume outside the share', minimal([step({ preset: { namespaces: ['mnt'], volumes: ['/etc:/host-etc'] } })]), /preset\.volumes\[0\]: "\/etc:\/host-etc": the host path must start with \{share\}\/ \(the app's share folder\)/],
  ['a volume climbing out of the share', minimal([step({ preset: { namespaces: ['mnt'], volumes: ['{share}/../etc:/x'] } })]), /preset\.volumes\[0\]: "\{share\}\/\.\.\/etc:\/x": the host path may not contain '\.\.'/],
  ['a volume without mnt', minimal([step({ preset: { namespaces: ['uts'], volumes: ['{share}/a:/a'] } })]), /preset\.volumes: needs "mnt" in namespaces/],
  ['a volume in bad -v grammar', minimal([step({ preset: { namespaces: ['mnt'], volumes: ['{share}/a:data'] } })]), /preset\.volumes\[0\]: -v "\/share\/a:data": the container path must be absolute/],
  ['an unknown capability', minimal([step({ preset: { namespaces: ['uts'], capAdd: ['SYS_ADMN'] } })]), /preset\.capAdd: --cap-add "SYS_ADMN": unknown capability/],
  ['a capability rule naming ALL', minimal([step({ verify: [{ capabilityHas: 'ALL' }, { ran: 0 }] })]), /verify\[0\]\.capabilityHas: "ALL": name one capability/],
  ['a quoted seccomp preset', minimal([step({ preset: { namespaces: ['uts'], seccomp: 'off' } })]), /preset\.seccomp: must be true or false/],
  ['an upper path with ..', minimal([step({ verify: [{ upperHas: '../../etc/passwd' }, { ran: 0 }] })]), /verify\[0\]\.upperHas: "\.\.\/\.\.\/etc\/passwd": name a path such as "hello\.txt"/],
  ['mountedAt a launch mount as the only action', minimal([step({ verify: [{ mountedAt: '/proc' }] })]), /steps\[0\]\.verify: holds at launch/],
  ['mountedAt a preset volume as the only action', minimal([step({ preset: { namespaces: ['mnt'], volumes: ['{share}/a:/data'] }, verify: [{ mountedAt: '/data' }] })]), /steps\[0\]\.verify: holds at launch/],
  ['shareHas as the only action (a file may be left from before)', minimal([step({ verify: [{ shareHas: 'a/b.txt' }] })]), /steps\[0\]\.verify: holds at launch/],
  ['network host with net', minimal([step({ preset: { namespaces: ['net'], network: 'host' } })]), /preset\.network: "host" is the host's own network: remove "net" from namespaces/],
  ['network none without net', minimal([step({ preset: { namespaces: ['uts'], network: 'none' } })]), /preset\.network: "none" is a network namespace with loopback only: add "net"/],
  ['an unknown network mode', minimal([step({ preset: { namespaces: ['net'], network: 'bridged' } })]), /preset\.network: "bridged" is not a network mode; use one of bridge, none, host/],
  ['a port in bad -p grammar', minimal([step({ preset: { namespaces: ['net'], ports: ['8080'] } })]), /preset\.ports: -p "8080": /],
  ['a port without net', minimal([step({ preset: { namespaces: ['uts'], ports: ['18080:8080'] } })]), /preset\.ports: needs "net" in namespaces and the bridge network/],
  ['a port with network none', minimal([step({ preset: { namespaces: ['net'], network: 'none', ports: ['18080:8080'] } })]), /preset\.ports: needs "net" in namespaces and the bridge network/],
  ['natUsed of another kind', minimal([step({ verify: [{ natUsed: 'snat' }, { ran: 0 }] })]), /verify\[0\]\.natUsed: must be "masquerade" \(outbound NAT\) or "dnat" \(a published port\), got "snat"/],
  ['interfacesAre as text', minimal([step({ verify: [{ interfacesAre: 'eth0' }, { ran: 0 }] })]), /verify\[0\]\.interfacesAre: must be a list of interface names like \["lo", "eth0"\]/],
  // the host's network (no net namespace) has answered pings long before the container
  ['pingAnswered on the host network as the only action', minimal([step({ preset: { namespaces: ['uts'] }, verify: [{ pingAnswered: true }] })]), /steps\[0\]\.verify: holds at launch/],
  ['hostnameIs the preset hostname', minimal([step({ preset: { namespaces: ['uts'], hostname: 'demo' }, verify: [{ hostnameIs: 'demo' }, { ran: 0 }] })]), /verify\[0\]\.hostnameIs: "demo" is the preset's hostname, true at launch/],
];

for (const [name, body, message] of bad) {
  test(`a lesson file with ${name} is reported in one line and skipped`, () => {
    const dir = folder({ 'good.json': { ...minimal(), id: 'good' }, [`${name}.json`]: body });
    try {
      const list = loadLessons(dir);
      assert.deepEqual(list.lessons.map((l) => l.id), ['good']);
      assert.equal(list.problems.length, 1);
      const [line] = list.problems;
      assert.ok(line.startsWith(`${name}.json: `), line);
      assert.match(line, message);
      assert.ok(!line.includes('\n'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('the shipped lessons beyond the first: capabilities and seccomp, layers, volumes, networking, mounts, cgroups', () => {
  const byId = new Map(loadLessons().lessons.map((l) => [l.id, l]));
  assert.deepEqual(byId.get('capabilities')?.steps.map((s) => s.id), ['caps-default', 'caps-add', 'caps-drop', 'seccomp-on', 'seccomp-off']);
  assert.deepEqual(byId.get('capabilities')?.steps[1].preset.capAdd, ['SYS_ADMIN']);
  assert.equal(byId.get('capabilities')?.steps[4].preset.seccomp, false);
  assert.deepEqual(byId.get('layers')?.steps.map((s) => s.id), ['layers-stack', 'layers-write', 'layers-copy-up', 'layers-whiteout', 'layers-fresh']);
  assert.deepEqual(byId.get('volumes')?.steps.map((s) => s.preset.volumes), [['{share}/volumes-lesson:/data'], ['{share}/volumes-lesson:/data:ro']]);
  // the volumes lesson removes its folder from the share at the end
  assert.match(byId.get('volumes')!.steps[1].commands.at(-1)!.run, /^rm -r \{share\}\/volumes-lesson;/);
  const net = byId.get('networking');
  assert.deepEqual(net?.steps.map((s) => s.id), ['net-interfaces', 'net-address', 'net-outbound', 'net-publish', 'net-none', 'net-host']);
  assert.deepEqual(net?.steps[3].preset.ports, ['18080:8080']);
  assert.deepEqual(net?.steps.map((s) => s.preset.network ?? 'bridge'), ['bridge', 'bridge', 'bridge', 'bridge', 'none', 'host']);
  // every step says what differs without root
  for (const s of net!.steps) assert.match(s.explain, /\nWithout root: /, s.id);
  assert.deepEqual(byId.get('mounts')?.steps.map((s) => s.preset.volumes), [['{share}/mounts-lesson:/data'], ['{share}/mounts-lesson:/data:rslave'], ['{share}/mounts-lesson:/data:ro,rslave'], undefined]);
  // the mounts lesson unmounts what it mounted on the host and removes its folder at the end
  assert.match(byId.get('mounts')!.steps.at(-1)!.commands.at(-1)!.run, /^umount \{share\}\/mounts-lesson; rm -r \{share\}\/mounts-lesson;/);
  const cg = byId.get('cgroups');
  assert.deepEqual(cg?.steps.map((s) => s.id), ['cgroup-where', 'cgroup-files', 'cgroup-pids', 'cgroup-oom', 'cgroup-cpu']);
  assert.deepEqual(cg?.steps.map((s) => s.verify.find((r) => 'pidsRejected' in r || 'oomKilled' in r || 'cpuThrottled' in r)), [undefined, undefined, { pidsRejected: true }, { oomKilled: true }, { cpuThrottled: true }]);
  for (const s of [...byId.get('mounts')!.steps, ...cg!.steps]) assert.match(s.explain, /\nWithout root: /, s.id);
  // every step id is unique across the bundled lessons (the e2e keys what each step shows by it)
  const ids = [...byId.values()].flatMap((l) => l.steps.map((s) => s.id));
  assert.equal(new Set(ids).size, ids.length);
});

test('two files with one lesson id: the second is refused', () => {
  const dir = folder({ 'a.json': minimal(), 'b.json': minimal(), 'notes.txt': 'ignored' });
  try {
    const list = loadLessons(dir);
    assert.equal(list.lessons.length, 1);
    assert.deepEqual(list.problems, ['b.json: id: "mine" is already used by a.json; give this lesson another id']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing folder is one problem line', () => {
  const list = loadLessons('/nonexistent/lessons');
  assert.equal(list.lessons.length, 0);
  assert.match(list.problems[0], /^\/nonexistent\/lessons: cannot read the lessons folder \(ENOENT\)/);
});

test('entered lines: keys as a pty gets them become the lines a person submitted', () => {
  const a = new LineAssembler();
  assert.deepEqual(a.push('echo hi\r'), ['echo hi']);
  assert.deepEqual(a.push('ech'), []);
  assert.deepEqual(a.push('x\x7fo ok\r'), ['echo ok']); // a typo fixed with Backspace
  assert.deepEqual(a.push('\x1b[Aabc\x15ls\r'), ['ls']); // an arrow key, then Ctrl-U cleared the line
  const lines = new EnteredLines();
  lines.record({ terminalId: 'c-1', kind: 'container', containerId: '1' }, 'hostname\r', 1000);
  lines.record({ terminalId: 'h-1', kind: 'host' }, 'ps\r', 2000);
  assert.deepEqual(lines.since(1500).map((l) => l.line), ['ps']);
});

test('every shipped step waits for the learner: none holds at launch', () => {
  for (const lesson of loadLessons().lessons) {
    for (const s of lesson.steps) {
      assert.ok(s.verify.some((r) => 'ran' in r || 'hostnameIs' in r || ('pidsRejected' in r && r.pidsRejected)), `${lesson.id}/${s.id}`);
    }
  }
});

test('NAT counters and /proc/net/snmp fields as nft and the kernel print them', () => {
  const table = [
    'table ip locker_8a4fc67fa7 {',
    '\tchain postrouting {',
    '\t\tip saddr 10.88.0.2 oifname != "locker0" counter packets 3 bytes 252 masquerade',
    '\t\toifname "locker0" ip daddr 10.88.0.2 ct status dnat ip saddr { 10.88.0.0/24, 127.0.0.0/8 } counter packets 9 bytes 0 masquerade',
    '\t}',
    '\tchain output {',
    '\t\tfib daddr type local tcp dport 18080 counter packets 1 bytes 60 dnat to 10.88.0.2:8080',
    '\t}',
    '}',
  ].join('\n');
  // the hairpin masquerade is not the outbound one
  assert.deepEqual(natCounts(table, 'masquerade').map((c) => c.packets), [3]);
  assert.deepEqual(natCounts(table, 'dnat'), [{ rule: 'fib daddr type local tcp dport 18080 counter packets 1 bytes 60 dnat to 10.88.0.2:8080', packets: 1 }]);
  assert.deepEqual(natCounts('table ip x {\n\tip saddr 10.88.0.2 oifname != "locker0" masquerade\n}', 'masquerade'), []);
  assert.ok(snmpField(process.pid, 'Icmp', 'InEchoReps') >= 0);
  assert.throws(() => snmpField(process.pid, 'Icmp', 'NoSuchField'), /has no Icmp NoSuchField/);
});

test('uid map and interface parsing', () => {
  assert.equal(outsideUidOfRoot('         0     100000      65536\n'), 100000);
  assert.equal(outsideUidOfRoot('0 0 4294967295'), 0);
  assert.equal(outsideUidOfRoot('1000 1000 1'), undefined);
  assert.deepEqual(interfaceNames('Inter-|   Receive\n face |bytes\n    lo: 0 0\n  eth0: 1 2\n'), ['lo', 'eth0']);
});

// ---- every rule against real containers ---------------------------------------------------

const isRoot = process.getuid?.() === 0;
const dataDir = mkdtempSync(join(tmpdir(), 'locker-lessons-rt-'));
const runtime = new Runtime({ dataDir });
after(async () => {
  for (const c of runtime.list()) await runtime.remove(c.id, true).catch(() => {});
  rmSync(dataDir, { recursive: true, force: true });
});

async function withContainer(spec: Partial<RunSpec> & { namespaces: Namespace[] }, fn: (id: string) => Promise<void> | void): Promise<void> {
  const h = await runtime.run({ command: ['/bin/sh', '-c', 'exec sleep 30'], ...spec });
  try {
    await new Promise((r) => setTimeout(r, 150)); // let the init settle (sh has exec'd sleep)
    await fn(h.info.id);
  } finally {
    await runtime.remove(h.info.id, true);
  }
}

async function expectRules(id: string, pass: VerifyRule[], fail: VerifyRule[]): Promise<void> {
  for (const r of pass) {
    const v = await verifyRules([r], { runtime, id });
    assert.ok(v.ok, `${JSON.stringify(r)} should pass: ${v.outcomes[0].detail}`);
  }
  for (const r of fail) {
    const v = await verifyRules([r], { runtime, id });
    assert.ok(!v.ok, `${JSON.stringify(r)} should fail: ${v.outcomes[0].detail}`);
    assert.ok(v.outcomes[0].detail.length > 0);
  }
}

describe('verify rules on real containers', { skip: isRoot ? false : 'needs root (namespaces without a user namespace)' }, () => {
  test('no namespaces: everything shared, same hostname, same root, host /proc', () =>
    withContainer({ namespaces: [], command: ['/bin/sh', '-c', 'exec sleep 30'] }, async (id) => {
      await expectRules(id,
        [{ namespaceShared: 'pid' }, { namespaceShared: 'uts' }, { namespaceShared: 'mnt' }, { hostnameDiffers: false }, { rootDiffers: false }, { procShowsHost: true }],
        [{ namespaceSeparate: 'uts' }, { hostnameDiffers: true }, { rootDiffers: true }, { pid1Is: 'sleep' }, { onlyLoopback: true }, { pidsLimit: 20 }, { uidMapOutsideNot: 0 }]);
    }));

  test('uts: own hostname', () =>
    withContainer({ namespaces: ['uts'], hostname: 'lesson-uts' }, async (id) => {
      await expectRules(id, [{ namespaceSeparate: 'uts' }, { hostnameDiffers: true }, { hostnameIs: 'lesson-uts' }], [{ namespaceShared: 'uts' }, { hostnameDiffers: false }, { hostnameIs: 'renamed-inside' }]);
    }));

  test('pid without mnt: PID 1 is sh, but /proc is the host\'s', () =>
    withContainer({ namespaces: ['pid'], command: ['/bin/sh', '-c', 'sleep 30; true'] }, async (id) => {
      await expectRules(id, [{ namespaceSeparate: 'pid' }, { pid1Is: 'sh' }, { procShowsHost: true }], [{ pid1Is: 'sleep' }, { procShowsHost: false }]);
    }));

  test('pid with mnt: a fresh /proc, a different root', () =>
    withContainer({ namespaces: ['pid', 'mnt'], command: ['/bin/sh', '-c', 'sleep 30; true'] }, async (id) => {
      await expectRules(id, [{ pid1Is: 'sh' }, { procShowsHost: false }, { rootDiffers: true }, { namespaceSeparate: 'mnt' }], [{ procShowsHost: true }, { rootDiffers: false }]);
    }));

  test('user: root inside is not root outside', () =>
    withContainer({ namespaces: ['user', 'pid', 'mnt'] }, async (id) => {
      await expectRules(id, [{ namespaceSeparate: 'user' }, { uidMapOutsideNot: 0 }], [{ uidMapOutsideNot: 100000 }, { namespaceShared: 'user' }]);
    }));

  test('ipc and net: separate; onlyLoopback reads the namespace\'s interfaces', () =>
    withContainer({ namespaces: ['ipc', 'net'] }, async (id) => {
      await expectRules(id, [{ namespaceSeparate: 'ipc' }, { namespaceSeparate: 'net' }], [{ namespaceShared: 'net' }]);
      // rootful containers may get a veth on Locker's bridge besides lo: judge against what the kernel lists
      const names = interfaceNames(readFileSync(`/proc/${runtime.get(id)!.pid}/net/dev`, 'utf8'));
      assert.ok(names.includes('lo'));
      const only = names.every((n) => n === 'lo');
      await expectRules(id, [{ onlyLoopback: only }], [{ onlyLoopback: !only }]);
    }));

  const layout = hostLayout();
  test('cgroups: pids limit, and a refused fork', { skip: layout.canWrite ? false : `cgroups not writable: ${layout.reason}` }, () =>
    withContainer({ namespaces: ['pid', 'mnt'], pidsLimit: 20, command: ['/bin/sh', '-c', '(for i in $(seq 30); do sleep 30 & done); exec sleep 30'] }, async (id) => {
      await expectRules(id, [{ pidsLimit: 20 }], [{ pidsLimit: 21 }]);
      const deadline = Date.now() + 5000;
      while (!(await verifyRules([{ pidsRejected: true }], { runtime, id })).ok && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      await expectRules(id, [{ pidsRejected: true }], [{ pidsRejected: false }]);
    }));

  test('cgroups: an OOM kill and CPU throttling count only once they happen', { skip: layout.canWrite ? false : `cgroups not writable: ${layout.reason}` }, () =>
    withContainer({ namespaces: ['pid', 'mnt'], memory: '32m', cpus: '0.5', command: ['/bin/sh', '-c', 'while [ ! -e /tmp/go ]; do sleep 0.2; done; (head -c 200m /dev/zero | tail) ; i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; exec sleep 30'] }, async (id) => {
      await expectRules(id, [{ oomKilled: false }, { cpuThrottled: false }], [{ oomKilled: true }, { cpuThrottled: true }]);
      writeFileSync(`/proc/${runtime.get(id)!.pid}/root/tmp/go`, ''); // the container's own /tmp: the OOM and the busy loop start now
      const deadline = Date.now() + 30_000;
      while (!(await verifyRules([{ oomKilled: true }, { cpuThrottled: true }], { runtime, id })).ok && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      await expectRules(id, [{ oomKilled: true }, { cpuThrottled: true }], [{ oomKilled: false }, { cpuThrottled: false }]);
    }));

  test('capabilities: Docker\'s 14 by default, --cap-add and --cap-drop as CapEff shows them', async () => {
    await withContainer({ namespaces: ['pid', 'mnt'] }, (id) =>
      expectRules(id, [{ capabilityLacks: 'SYS_ADMIN' }, { capabilityHas: 'CHOWN' }, { capabilityHas: 'NET_RAW' }], [{ capabilityHas: 'SYS_ADMIN' }, { capabilityLacks: 'CHOWN' }]));
    await withContainer({ namespaces: ['pid', 'mnt'], capAdd: ['SYS_ADMIN'] }, (id) => expectRules(id, [{ capabilityHas: 'SYS_ADMIN' }], [{ capabilityLacks: 'SYS_ADMIN' }]));
    await withContainer({ namespaces: ['pid', 'mnt'], capDrop: ['ALL'] }, (id) =>
      expectRules(id, [{ capabilityLacks: 'CHOWN' }, { capabilityLacks: 'DAC_OVERRIDE' }], [{ capabilityHas: 'CHOWN' }, { capabilityHas: 'KILL' }]));
  });

  test('seccomp: filtered by default, not with seccomp unconfined', async () => {
    await withContainer({ namespaces: ['pid', 'mnt'] }, (id) => expectRules(id, [{ seccompFiltered: true }], [{ seccompFiltered: false }]));
    await withContainer({ namespaces: ['pid', 'mnt'], seccomp: 'unconfined' }, (id) => expectRules(id, [{ seccompFiltered: false }], [{ seccompFiltered: true }]));
  });

  test('mountedAt: a mount the container made (with CAP_SYS_ADMIN), not before', async () => {
    await withContainer({ namespaces: ['pid', 'mnt'], capAdd: ['SYS_ADMIN'], command: ['/bin/sh', '-c', 'mount -t tmpfs lesson /mnt && exec sleep 30'] }, (id) =>
      expectRules(id, [{ mountedAt: '/mnt' }, { mountedAt: '/mnt/' }, { mountedAt: '/proc' }], [{ mountedAt: '/srv' }]));
    await withContainer({ namespaces: ['pid', 'mnt'] }, (id) => expectRules(id, [], [{ mountedAt: '/mnt' }]));
  });

  test('layers: a write lands in the upper layer, a delete leaves a whiteout, the image keeps its files', () =>
    withContainer({ namespaces: ['pid', 'mnt'], command: ['/bin/sh', '-c', 'echo hi > /hello.txt; echo more >> /etc/motd; rm /etc/os-release; ln -s / /escape; exec sleep 30'] }, async (id) => {
      await expectRules(id,
        [{ upperHas: 'hello.txt' }, { upperHas: 'etc/motd' }, { upperDeleted: 'etc/os-release' }, { imageHas: 'etc/os-release' }, { imageHas: 'etc/motd' }, { imageLacks: 'hello.txt' }],
        [{ upperHas: 'etc/os-release' }, { upperDeleted: 'hello.txt' }, { imageHas: 'hello.txt' }, { imageLacks: 'etc/motd' }, { upperHas: 'etc/passwd' },
          // a link the container planted in its upper layer never makes the host look at its own files
          { upperHas: 'escape/etc/passwd' }, { upperHas: 'escape/proc/self/status' }]);
    }));

  test('layers: a fresh container\'s upper layer is empty', () =>
    withContainer({ namespaces: ['pid', 'mnt'] }, (id) => expectRules(id, [{ imageHas: 'bin/busybox' }], [{ upperHas: 'hello.txt' }, { upperHas: 'etc/motd' }, { upperDeleted: 'etc/os-release' }])));

  test('shareHas reads the share folder without following links in it', async () => {
    const share = mkdtempSync(join(tmpdir(), 'locker-share-'));
    try {
      writeFileSync(join(share, 'note.txt'), 'x');
      symlinkSync('/etc', join(share, 'link'));
      await withContainer({ namespaces: ['pid', 'mnt'] }, async (id) => {
        assert.ok((await verifyRules([{ shareHas: 'note.txt' }], { runtime, id, shareDir: share })).ok);
        assert.ok(!(await verifyRules([{ shareHas: 'link/passwd' }], { runtime, id, shareDir: share })).ok);
        assert.ok(!(await verifyRules([{ shareHas: 'missing.txt' }], { runtime, id, shareDir: share })).ok);
        assert.ok(!(await verifyRules([{ shareHas: 'note.txt' }], { runtime, id })).ok, 'no share folder known');
      });
      assert.equal(lstatInside(share, 'link/passwd'), undefined);
      assert.ok(lstatInside(share, 'link')?.isSymbolicLink());
    } finally {
      rmSync(share, { recursive: true, force: true });
    }
  });

  const hasNft = spawnSync('nft', ['--version']).status === 0;
  const defaultRoute = spawnSync('ip', ['-4', 'route', 'show', 'default'], { encoding: 'utf8' }).stdout.trim() !== '';
  const netSkip = !hasNft ? 'nft is not installed (rootful NAT needs it)' : false;
  const until = async (ok: () => Promise<boolean>): Promise<void> => {
    for (const deadline = Date.now() + 10_000; !(await ok()) && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 100));
  };
  const holds = async (id: string, r: VerifyRule) => (await verifyRules([r], { runtime, id })).ok;

  test('network, bridge: lo and eth0, the veth on locker0; a ping answered; no NAT used yet', { skip: netSkip }, async () => {
    await withContainer({ namespaces: ['pid', 'mnt', 'net'] }, (id) =>
      expectRules(id, [{ interfacesAre: ['eth0', 'lo'] }, { vethOnBridge: 'locker0' }, { pingAnswered: false }, { connectionAccepted: false }],
        [{ interfacesAre: ['lo'] }, { vethOnBridge: 'docker0' }, { pingAnswered: true }, { natUsed: 'masquerade' }, { natUsed: 'dnat' }, { onlyLoopback: true }]));
    await withContainer({ namespaces: ['pid', 'mnt', 'net'], command: ['/bin/sh', '-c', 'ping -c 1 10.88.0.1; exec sleep 30'] }, async (id) => {
      await until(() => holds(id, { pingAnswered: true }));
      await expectRules(id, [{ pingAnswered: true }], [{ pingAnswered: false }, { natUsed: 'masquerade' }]);
    });
  });

  test('network, bridge: a packet leaving the host is counted by the masquerade rule', { skip: netSkip || (!defaultRoute && 'the host has no default route: nothing can leave it') }, () =>
    // a destination of its own (TEST-NET-2, through the default route): a connection-tracking entry of an
    // earlier container with this address and ping id would make the packet no new connection
    withContainer({ namespaces: ['pid', 'mnt', 'net'], command: ['/bin/sh', '-c', `ping -c 1 -W 1 198.51.100.${1 + Math.floor(Math.random() * 254)}; exec sleep 30`] }, async (id) => {
      await until(() => holds(id, { natUsed: 'masquerade' }));
      const v = await verifyRules([{ natUsed: 'masquerade' }], { runtime, id });
      assert.ok(v.ok, v.outcomes[0].detail);
      assert.match(v.outcomes[0].detail, /oifname != "locker0" counter packets [1-9]\d* bytes \d+ masquerade/);
    }));

  test('network, -p: the DNAT rule and the container\'s listener count a connection from the host only once it is made', { skip: netSkip }, async () => {
    let hostPort = 0;
    for (const taken = readFileSync('/proc/net/tcp', 'utf8') + readFileSync('/proc/net/tcp6', 'utf8'); !hostPort || taken.includes(`:${hostPort.toString(16).toUpperCase().padStart(4, '0')} `);) hostPort = 30000 + Math.floor(Math.random() * 20000);
    await withContainer({ namespaces: ['pid', 'mnt', 'net'], publish: [{ hostPort, containerPort: 8080, protocol: 'tcp' }], command: ['/bin/sh', '-c', 'nc -l -p 8080 -e echo hello from the container; exec sleep 30'] }, async (id) => {
      await expectRules(id, [], [{ natUsed: 'dnat' }, { connectionAccepted: true }]);
      const netns = `/proc/${runtime.get(id)!.pid}/ns/net`;
      await until(async () => /:1F90 [0-9A-F]+:0000 0A/.test(spawnSync('nsenter', [`--net=${netns}`, 'cat', '/proc/net/tcp', '/proc/net/tcp6'], { encoding: 'utf8' }).stdout));
      const got = await new Promise<string>((resolve, reject) => {
        let data = '';
        const c = connect({ host: '127.0.0.1', port: hostPort });
        c.on('data', (d) => (data += d));
        c.on('close', () => resolve(data));
        c.on('error', reject);
      });
      assert.equal(got, 'hello from the container\n');
      await until(() => holds(id, { connectionAccepted: true }));
      await expectRules(id, [{ natUsed: 'dnat' }, { connectionAccepted: true }], [{ connectionAccepted: false }]);
    });
  });

  test('network none: loopback only, no veth, no NAT table; a ping of 127.0.0.1 counts', () =>
    withContainer({ namespaces: ['pid', 'mnt', 'net'], network: 'none', command: ['/bin/sh', '-c', 'ping -c 1 127.0.0.1; exec sleep 30'] }, async (id) => {
      await until(() => holds(id, { pingAnswered: true }));
      await expectRules(id, [{ interfacesAre: ['lo'] }, { onlyLoopback: true }, { pingAnswered: true }], [{ interfacesAre: ['lo', 'eth0'] }, { vethOnBridge: 'locker0' }, { natUsed: 'masquerade' }]);
      const v = await verifyRules([{ natUsed: 'dnat' }, { vethOnBridge: 'locker0' }], { runtime, id });
      assert.deepEqual(v.outcomes.map((o) => o.says), [
        'The host holds no NAT rules for this container. Its network is not the bridge (network bridge, net ticked).',
        'This container has no veth into the host. Its network is loopback; this step wants the bridge (network bridge, net ticked).',
      ]);
    }));

  test('a container of another network setting than the step\'s gets the one line, not a list of failures', async () => {
    const base: LessonStep = { id: 's', title: 'S', explain: 'x', preset: { namespaces: ['pid', 'mnt', 'net'] }, commands: [{ pane: 'container', run: 'ip link' }], lookFor: 'x', verify: [{ ran: 0 }] };
    await withContainer({ namespaces: ['pid', 'mnt', 'net'], network: 'none' }, async (id) => {
      const v = await verifyRules([{ ran: 0 }], { runtime, id, step: base });
      assert.equal(v.mismatch, 'This container was started with network none (loopback only); this step wants network bridge. Press “Set up the launch form”, then Run.');
      const none = await verifyRules([{ ran: 0 }], { runtime, id, step: { ...base, preset: { ...base.preset, network: 'none' } } });
      assert.equal(none.mismatch, undefined);
    });
    if (netSkip) return;
    await withContainer({ namespaces: ['pid', 'mnt', 'net'] }, async (id) => {
      const v = await verifyRules([{ ran: 0 }], { runtime, id, step: { ...base, preset: { ...base.preset, ports: ['18080:8080'] } } });
      assert.equal(v.mismatch, 'This container publishes no host port 18080; this step wants -p 18080:8080. Press “Set up the launch form”, then Run.');
    });
  });

  test('an exited container fails every rule with the reason', async () => {
    const h = await runtime.run({ command: ['/bin/true'], namespaces: ['uts'] });
    await h.exited;
    const v = await verifyRules([{ namespaceSeparate: 'uts' }], { runtime, id: h.info.id });
    assert.equal(v.ok, false);
    assert.match(v.outcomes[0].detail, /has exited/);
    await runtime.remove(h.info.id, true);
  });
});
