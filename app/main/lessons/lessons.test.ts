// Lesson files: the shipped ones load, a teacher's mistakes come back as one line each (file,
// field, fix), and every verify rule is checked against real containers run in this process.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import type { VerifyRule } from '../../shared/api';
import type { Namespace, RunSpec } from '../../shared/types';
import { hostLayout } from '../runtime/cgroups';
import { Runtime } from '../runtime/runtime';
import { loadLessons } from './loader';
import { interfaceNames, outsideUidOfRoot, verifyRules } from './verify';

const minimal = (steps: unknown[] = [step()]) => ({ id: 'mine', title: 'Mine', steps });
function step(over: Record<string, unknown> = {}) {
  return { id: 'one', title: 'One', explain: 'text', preset: { namespaces: ['uts'] }, lookFor: 'x', verify: [{ namespaceSeparate: 'uts' }], ...over };
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
  ['bad memory', minimal([step({ preset: { namespaces: [], memory: 'lots' } })]), /preset\.memory: "lots" is not a size; write e\.g\. "64m"/],
  ['empty verify', minimal([step({ verify: [] })]), /verify: must be a non-empty list of rules/],
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
      await expectRules(id, [{ namespaceSeparate: 'uts' }, { hostnameDiffers: true }], [{ namespaceShared: 'uts' }, { hostnameDiffers: false }]);
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

  test('an exited container fails every rule with the reason', async () => {
    const h = await runtime.run({ command: ['/bin/true'], namespaces: ['uts'] });
    await h.exited;
    const v = await verifyRules([{ namespaceSeparate: 'uts' }], { runtime, id: h.info.id });
    assert.equal(v.ok, false);
    assert.match(v.outcomes[0].detail, /has exited/);
    await runtime.remove(h.info.id, true);
  });
});
