import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CALL_NAMES, Channel, EVENT_NAMES, callForChannel, createClient, hostnameProblem, runRequestProblem, splitCommand, type Envelope } from './api';

test('every call and event has its own channel', () => {
  const all = [...CALL_NAMES, ...EVENT_NAMES].map((n) => Channel[n]);
  assert.equal(new Set(all).size, all.length);
  assert.equal(callForChannel(Channel.run), 'run');
  assert.equal(callForChannel(Channel.containers), undefined, 'events are not callable');
});

test('the client unwraps results and rethrows errors as Error', async () => {
  const calls: [string, unknown][] = [];
  const api = createClient(async (ch, arg): Promise<Envelope<unknown>> => {
    calls.push([ch, arg]);
    return ch === Channel.stop ? { error: 'no container "x"' } : { result: [] };
  }, () => () => {});
  assert.deepEqual(await api.listContainers(), []);
  await assert.rejects(api.stop({ id: 'x' }), (e: unknown) => e instanceof Error && e.message === 'no container "x"');
  assert.deepEqual(calls, [[Channel.listContainers, undefined], [Channel.stop, { id: 'x' }]]);
  assert.throws(() => api.on('nope' as 'containers', () => {}), /unknown event/);
});

test('hostnames follow RFC 1123 labels and the 64-byte limit', () => {
  for (const ok of ['demo', 'demo-1', 'a', 'class.room', 'x'.repeat(63)]) assert.equal(hostnameProblem(ok), undefined, ok);
  for (const bad of ['', 'bad_name', '-x', 'x-', 'a..b', 'x'.repeat(64) + 'y', 'é', 'a\0b']) assert.ok(hostnameProblem(bad), bad);
});

test('command lines split on spaces with quotes and no shell', () => {
  assert.deepEqual(splitCommand('/bin/sh -c "echo hi there"'), ['/bin/sh', '-c', 'echo hi there']);
  assert.deepEqual(splitCommand("  ls   ''  "), ['ls', '']);
  assert.throws(() => splitCommand('echo "oops'), /unclosed/);
});

test('the launch form refuses what would start nothing useful', () => {
  const base = { command: ['/bin/sh'], namespaces: ['pid', 'uts', 'mnt'] as const, cols: 80, rows: 24 };
  assert.equal(runRequestProblem({ ...base, namespaces: [...base.namespaces] }), undefined);
  assert.match(runRequestProblem({ ...base, namespaces: [...base.namespaces], command: [] })!, /empty/);
  assert.match(runRequestProblem({ ...base, namespaces: ['pid'], hostname: 'demo' })!, /UTS/);
  assert.match(runRequestProblem({ ...base, namespaces: [...base.namespaces], rootfs: 'relative/dir' })!, /absolute/);
  assert.match(runRequestProblem({ ...base, namespaces: [...base.namespaces], command: ['/bin/sh\0'] })!, /NUL/);
});
