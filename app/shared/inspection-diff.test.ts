// The watch's diffs: whatever sequence of inspections the service sees, a client that applies each
// diff (after the JSON trip the WebSocket makes) holds exactly the service's latest inspection.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InspectionMirror, applyInspectionDiff, diffInspection, isEmptyDiff, type InspectionEvent } from './inspection-diff';
import type { Inspection, ProcessEntry } from './types';

/** A small deterministic PRNG (mulberry32): a failure names its seed and replays. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const wire = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

function inspection(hostProcesses: ProcessEntry[], extra: Partial<Inspection> = {}): Inspection {
  return {
    id: 'c0ffee', pid: 100, hostname: { host: 'host', container: 'demo' }, hostProcesses,
    containerProcesses: hostProcesses.filter((p) => p.inContainer),
    namespaces: [{ type: 'pid', host: 'pid:[4026531836]', container: 'pid:[4026532200]', shared: false }],
    uidMap: '0 0 4294967295', gidMap: '0 0 4294967295', mounts: [], ...extra,
  };
}

/** The next table: some processes exit, some start (fresh or reused PIDs), some exec, enter or leave the container. */
function evolve(prev: ProcessEntry[], r: () => number, nextPid: { n: number }): ProcessEntry[] {
  const out: ProcessEntry[] = [];
  for (const p of prev) {
    const x = r();
    if (x < 0.08) continue; // exited
    if (x < 0.16) {
      const e: ProcessEntry = { ...p, name: `exec${Math.floor(r() * 9)}`, cmdline: `/bin/x ${Math.floor(r() * 99)}` };
      out.push(e);
    } else if (x < 0.2) {
      const e: ProcessEntry = { ...p, inContainer: !p.inContainer };
      if (e.inContainer) Object.assign(e, { containerPid: Math.floor(r() * 50) + 1, containerPpid: 1 });
      else {
        delete e.containerPid;
        delete e.containerPpid;
      }
      out.push(e);
    } else if (x < 0.22) out.push({ ...p, ppid: Math.floor(r() * 50) });
    else out.push(p);
  }
  const births = Math.floor(r() * 6);
  for (let i = 0; i < births; i++) {
    // now and then a small PID is reused, so new entries land between old ones
    const pid = r() < 0.2 ? Math.floor(r() * 40) + 1 : nextPid.n++;
    if (out.some((p) => p.pid === pid)) continue;
    const inContainer = r() < 0.3;
    const e: ProcessEntry = { pid, ppid: 1, name: 'sleep', cmdline: `sleep ${pid}`, inContainer };
    if (inContainer) Object.assign(e, { containerPid: pid % 50, containerPpid: 1 });
    out.push(e);
  }
  // Node's readdir of /proc sorts the names as text ("1", "10", "100", "2"…): new entries land
  // between old ones; sometimes the whole order changes
  out.sort((a, b) => (String(a.pid) < String(b.pid) ? -1 : 1));
  if (r() < 0.1) out.reverse();
  return out;
}

test('random sequences of process tables round-trip through the diffs to the same object', () => {
  for (let seed = 1; seed <= 60; seed++) {
    const r = rng(seed);
    const nextPid = { n: 1000 };
    let table: ProcessEntry[] = [];
    for (let i = 0; i < 40; i++) table.push({ pid: 50 + i * 3, ppid: 1, name: 'init', cmdline: 'init', inContainer: false });
    let server = inspection(table);
    let client = wire(server);
    for (let step = 0; step < 40; step++) {
      table = evolve(table, r, nextPid);
      const extra: Partial<Inspection> = {};
      if (r() < 0.3) extra.hostname = { host: 'host', container: `name${step}` };
      if (r() < 0.5) extra.resources = { paths: ['/sys/fs/cgroup/locker/x'], limits: { pidsLimit: 20 }, stats: { pidsCurrent: table.length, pidsMax: 20, pidsRejected: 0, memoryCurrent: null, memoryMax: null, memoryEvents: { oom: null, oomKill: null, max: null }, cpuUsageUsec: step, nrThrottled: null, throttledUsec: null } };
      if (r() < 0.2) extra.mounts = [{ mountId: step, parentId: 1, mountPoint: '/', root: '/', fsType: 'overlay', source: 'overlay', options: 'rw' }];
      const next = inspection(table, extra);
      if (r() < 0.1) next.containerProcesses = [...next.containerProcesses].reverse();
      // a source whose container table is not made of the host table's entries
      else if (r() < 0.1) next.containerProcesses = next.containerProcesses.map((p) => ({ ...p, cmdline: `${p.cmdline} (inside)` }));
      const diff = wire(diffInspection(server, next));
      const before = JSON.stringify(client);
      const rebuilt = applyInspectionDiff(client, diff);
      assert.equal(JSON.stringify(client), before, `seed ${seed} step ${step}: applying modified the previous copy`);
      assert.deepEqual(rebuilt, wire(next), `seed ${seed} step ${step}`);
      server = next;
      client = rebuilt;
    }
  }
});

test('an unchanged inspection gives an empty diff; one new process is one added entry', () => {
  const a = inspection([{ pid: 1, ppid: 0, name: 'init', cmdline: '/sbin/init', inContainer: false }, { pid: 100, ppid: 1, name: 'sh', cmdline: '/bin/sh', inContainer: true, containerPid: 1, containerPpid: 0 }]);
  const same = wire(a);
  assert.ok(isEmptyDiff(diffInspection(a, same)));
  assert.deepEqual(diffInspection(a, same), {});
  const child: ProcessEntry = { pid: 101, ppid: 100, name: 'sleep', cmdline: 'sleep 9', inContainer: true, containerPid: 2, containerPpid: 1 };
  const b = inspection([...same.hostProcesses, child]);
  assert.deepEqual(diffInspection(a, b), { processes: { added: [child], addedAt: [2] }, containerPids: [100, 101] });
  assert.deepEqual(diffInspection(b, a), { processes: { removed: [101] }, containerPids: [100] });
});

test('a changed field is sent alone, a field that went away by name, an optional part that went away by name', () => {
  const a = inspection([{ pid: 5, ppid: 1, name: 'sh', cmdline: 'sh', inContainer: true, containerPid: 1, containerPpid: 0 }], { confinement: { seccomp: 'filter', seccompFilters: 1, noNewPrivs: true, effective: [], bounding: [], differences: [] } });
  const b = inspection([{ pid: 5, ppid: 1, name: 'sleep', cmdline: 'sleep 1', inContainer: false }]);
  assert.deepEqual(diffInspection(a, b), {
    processes: { changed: [{ pid: 5, set: { name: 'sleep', cmdline: 'sleep 1', inContainer: false }, unset: ['containerPid', 'containerPpid'] }] },
    containerPids: [],
    unset: ['confinement'],
  });
  assert.deepEqual(applyInspectionDiff(a, diffInspection(a, b)), b);
});

test('applying keeps unchanged processes as the same objects', () => {
  const keep: ProcessEntry = { pid: 1, ppid: 0, name: 'init', cmdline: 'init', inContainer: false };
  const a = inspection([keep, { pid: 2, ppid: 1, name: 'a', cmdline: 'a', inContainer: false }]);
  const b = inspection([keep, { pid: 2, ppid: 1, name: 'b', cmdline: 'b', inContainer: false }]);
  const out = applyInspectionDiff(a, diffInspection(a, b));
  assert.equal(out.hostProcesses[0], keep);
  assert.equal(out.namespaces, a.namespaces);
});

test('the mirror applies diffs in sequence and asks for a full one after a gap', () => {
  const a = inspection([{ pid: 1, ppid: 0, name: 'init', cmdline: 'init', inContainer: false }]);
  const b = inspection([...a.hostProcesses, { pid: 7, ppid: 1, name: 'x', cmdline: 'x', inContainer: false }]);
  const c = inspection([a.hostProcesses[0]]);
  const m = new InspectionMirror();
  const ev = (seq: number, changes: ReturnType<typeof diffInspection>): InspectionEvent => ({ id: 'c0ffee', seq, changes });
  assert.equal(m.accept(ev(3, diffInspection(a, b))), 'same', 'a diff before the first full one waits for it');
  assert.equal(m.accept({ id: 'c0ffee', seq: 2, full: a }), 'changed');
  assert.equal(m.accept(ev(3, diffInspection(a, b))), 'changed');
  assert.deepEqual(m.inspection, b);
  assert.equal(m.accept(ev(3, diffInspection(a, b))), 'same', 'a duplicate is ignored');
  assert.equal(m.accept(ev(5, diffInspection(b, c))), 'resync', 'seq 4 is missing');
  assert.deepEqual(m.inspection, b, 'nothing applied across the gap');
  assert.equal(m.accept({ id: 'c0ffee', seq: 5, full: c }), 'changed');
  assert.equal(m.accept({ id: 'c0ffee', seq: 6, ended: 'the container has exited' }), 'ended');
});
