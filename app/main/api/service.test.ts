import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TerminalData, TerminalExit } from '../../shared/api';
import { HIGH_WATERMARK } from '../terminals/flow';
import { LockerService } from './service';
import { FakeRuntime, FakeTerminal } from './testing';

const runArg = { command: ['/bin/sh'], namespaces: ['pid', 'uts', 'mnt'], cols: 80, rows: 24 };

function setup() {
  const runtime = new FakeRuntime();
  const hostTerm = new FakeTerminal();
  let exitHost!: (code: number) => void;
  const service = new LockerService(runtime, {
    spawnHostShell: () => ({ pid: 777, terminal: hostTerm, exited: new Promise((r) => (exitHost = r)) }),
  });
  const data: TerminalData[] = [];
  const exits: TerminalExit[] = [];
  service.on('terminalData', (d) => data.push(d));
  service.on('terminalExit', (e) => exits.push(e));
  return { runtime, service, hostTerm, data, exits, exitHost: (c: number) => exitHost(c) };
}

test('run returns the container and its terminal; output streams as events', async () => {
  const { runtime, service, data } = setup();
  const res = await service.dispatch('run', { ...runArg, hostname: 'demo' });
  assert.ok('result' in res);
  const { container, terminal } = res.result as { container: { id: string; hostname: string }; terminal: { terminalId: string } };
  assert.equal(container.hostname, 'demo');
  runtime.containers.get(container.id)!.terminal.output('/ # ');
  assert.deepEqual(data, [{ terminalId: terminal.terminalId, data: '/ # ', bytes: 4, offset: 0 }]);
});

test('errors come back as an envelope, validation first', async () => {
  const { service } = setup();
  assert.deepEqual(await service.dispatch('stop', { id: 'nope' }), { error: 'no container "nope"' });
  assert.match((await service.dispatch('stop', { id: 1 }) as { error: string }).error, /stop\.id must be a string/);
  assert.match((await service.dispatch('constructor', {}) as { error: string }).error, /unknown method/);
  assert.match((await service.dispatch('run', { ...runArg, command: ['/nonexistent'] }) as { error: string }).error, /not found/);
});

test('attach returns scrollback and the offset live events resume from', async () => {
  const { runtime, service } = setup();
  const { container, terminal } = await service.run(runArg as never);
  const t = runtime.containers.get(container.id)!.terminal;
  t.output('hello ');
  t.output('world');
  const snap = await service.attachTerminal({ terminalId: terminal!.terminalId });
  assert.deepEqual(snap, { data: 'hello world', end: 11, exited: false, exitCode: undefined });
});

test('a flood pauses the pty until the renderer acks', async () => {
  const { service, hostTerm, data } = setup();
  const { terminalId } = await service.openHostShell({ cols: 80, rows: 24 });
  await service.attachTerminal({ terminalId });
  const chunk = Buffer.alloc(64 * 1024, 'y');
  // bounded: if pausing regressed, this would otherwise spin (and buffer) forever
  for (let i = 0; !hostTerm.paused && i < 1000; i++) hostTerm.output(chunk);
  assert.ok(hostTerm.paused, 'the flood paused the pty');
  const sent = data.reduce((n, d) => n + d.bytes, 0);
  assert.ok(sent >= HIGH_WATERMARK && sent < HIGH_WATERMARK + chunk.length);
  assert.ok(data.every((d) => d.bytes <= 100 * 1024));
  for (const d of data) await service.ackTerminal({ terminalId, bytes: d.bytes });
  assert.equal(hostTerm.paused, false);
});

test('write, resize and close reach the terminal; exit is reported', async () => {
  const { service, hostTerm, exits, exitHost } = setup();
  const { terminalId } = await service.openHostShell({ cols: 80, rows: 24 });
  await service.writeTerminal({ terminalId, data: 'ls\r' });
  await service.resizeTerminal({ terminalId, cols: 100, rows: 30 });
  assert.deepEqual(hostTerm.written, ['ls\r']);
  assert.deepEqual(hostTerm.sizes, [[100, 30]]);
  exitHost(0);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(exits, [{ terminalId, exitCode: 0 }]);
  await service.closeTerminal({ terminalId });
  assert.equal(hostTerm.closed, true);
  assert.match((await service.dispatch('writeTerminal', { terminalId, data: 'x' }) as { error: string }).error, /no terminal/);
});

test('exec terminals are listed per container and vanish with it', async () => {
  const { service } = setup();
  const { container } = await service.run(runArg as never);
  const ex = await service.exec({ id: container.id, cols: 80, rows: 24 });
  assert.equal(ex.kind, 'exec');
  assert.deepEqual((await service.listTerminals({ id: container.id })).map((t) => t.kind).sort(), ['container', 'exec']);
  await service.stop({ id: container.id });
  await service.remove({ id: container.id });
  assert.deepEqual(await service.listTerminals({ id: container.id }), []);
});

test('container list changes are pushed', async () => {
  const { service } = setup();
  const seen: number[] = [];
  service.on('containers', (list) => seen.push(list.length));
  await service.run(runArg as never);
  assert.deepEqual(seen, [1]);
  service.dispose();
});

test('syscalls of a container are kept, batched as events, and dropped with it', async () => {
  const { syscallLog } = await import('../../../native/syscall-log');
  const { runtime, service } = setup();
  const batches: { containerId: string; entries: { seq: number; name: string; result: string; errno?: string }[] }[] = [];
  service.on('syscalls', (b) => batches.push(b));
  const res = await service.dispatch('run', runArg);
  const id = (res as { result: { container: { id: string } } }).result.container.id;
  syscallLog.within(id, () => {
    syscallLog.record({ where: 'host', name: 'clone', args: 'CLONE_NEWPID|SIGCHLD', result: 4242, t: 1 });
    syscallLog.record({ where: 'child', name: 'pivot_root', args: '".", "."', result: BigInt(-1), errno: 'EINVAL', t: 2 });
  });
  syscallLog.record({ where: 'host', name: 'open', args: '"/proc/1/stat"', result: 3, t: 3 }); // no container: not logged
  assert.equal(batches.length, 0, 'batched, not sent one by one');
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(batches.length, 1);
  assert.deepEqual(batches[0].entries.map((e) => [e.seq, e.name, e.result, e.errno]), [[1, 'clone', '4242', undefined], [2, 'pivot_root', '-1', 'EINVAL']]);
  const backlog = await service.dispatch('syscallLog', { id });
  assert.ok('result' in backlog);
  assert.equal((backlog.result as unknown[]).length, 2);
  assert.deepEqual(await service.dispatch('syscallLog', { id: 'nope' }), { error: 'no container "nope"' });
  await service.dispatch('remove', { id });
  assert.ok(!runtime.containers.has(id));
  assert.deepEqual(await service.dispatch('syscallLog', { id }), { error: `no container "${id}"` });
  service.dispose();
});

test('lessons are served; verifying an unknown lesson, step or container is an error envelope', async () => {
  const { service } = setup();
  const res = await service.dispatch('listLessons', undefined);
  assert.ok('result' in res);
  const list = res.result as { lessons: { id: string; steps: { id: string }[] }[]; problems: string[] };
  assert.deepEqual(list.problems, []);
  assert.ok(list.lessons.some((l) => l.id === 'classic'));
  assert.match((await service.dispatch('verifyStep', { lessonId: 'nope', stepId: 'uts', id: 'abc' }) as { error: string }).error, /^no lesson "nope"; the lessons are .*classic/);
  assert.deepEqual(await service.dispatch('verifyStep', { lessonId: 'classic', stepId: 'nope', id: 'abc' }), { error: 'lesson "classic" has no step "nope"' });
  assert.deepEqual(await service.dispatch('verifyStep', { lessonId: 'classic', stepId: 'uts', id: 'abc' }), { error: 'no container "abc"' });
  assert.match((await service.dispatch('verifyStep', { lessonId: 'classic', stepId: 'uts' }) as { error: string }).error, /verifyStep is missing "id"/);
  service.dispose();
});

test('equivalent commands for launch settings; bad settings are an error envelope', async () => {
  const { service } = setup();
  const res = await service.dispatch('equivalent', { command: ['/bin/sh'], namespaces: ['pid', 'uts', 'mnt'], hostname: 'demo', pidsLimit: 20 });
  assert.ok('result' in res, JSON.stringify(res));
  const e = res.result as { unshare: string; runcConfig: string; docker: string; notes: string[] };
  assert.match(e.unshare, /unshare .*--pid/);
  assert.match(e.docker, /^docker run /);
  assert.equal(JSON.parse(e.runcConfig).hostname, 'demo');
  assert.ok(e.notes.length > 0);
  const bad = await service.dispatch('equivalent', { command: ['/bin/sh'], namespaces: ['pid'], hostname: 'demo' });
  assert.ok('error' in bad);
  service.dispose();
});

test('preflight lists the doctor checks with fixes', async () => {
  const { service } = setup();
  const res = await service.dispatch('preflight', undefined);
  assert.ok('result' in res, JSON.stringify(res));
  const checks = res.result as { id: string; status: string; detail: string }[];
  assert.ok(checks.length >= 5);
  for (const c of checks) assert.ok(['ok', 'warn', 'fail'].includes(c.status) && c.id && c.detail);
  service.dispose();
});

test('a container terminal opened or closed goes out as a terminals event with the whole list', async () => {
  const { service } = setup();
  const seen: { containerId: string; ids: string[] }[] = [];
  service.on('terminals', (ev) => seen.push({ containerId: ev.containerId, ids: ev.terminals.map((t) => t.terminalId) }));
  const { container, terminal } = await service.run(runArg as never);
  const exec = await service.exec({ id: container.id, cols: 80, rows: 24 });
  await service.closeTerminal({ terminalId: exec.terminalId });
  assert.deepEqual(seen, [
    { containerId: container.id, ids: [terminal!.terminalId] },
    { containerId: container.id, ids: [terminal!.terminalId, exec.terminalId] },
    { containerId: container.id, ids: [terminal!.terminalId] },
  ]);
  // a host shell belongs to no container: no event
  await service.openHostShell({ cols: 80, rows: 24 });
  assert.equal(seen.length, 3);
});
