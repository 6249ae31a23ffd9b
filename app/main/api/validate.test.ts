import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError, validateCall } from './validate';

const run = { command: ['/bin/sh'], namespaces: ['pid', 'uts', 'mnt'], cols: 80, rows: 24 };

test('accepts well-formed calls and returns the checked values', () => {
  assert.deepEqual(validateCall('run', { ...run, hostname: 'demo-1', rootfs: '' }), { ...run, hostname: 'demo-1', rootfs: '' });
  assert.equal(validateCall('hostInfo', undefined), undefined);
  assert.deepEqual(validateCall('listDir', { id: 'abc123', side: 'host', path: '/etc' }), { id: 'abc123', side: 'host', path: '/etc' });
  assert.deepEqual(validateCall('writeTerminal', { terminalId: 'h-1', data: 'a\0b' }), { terminalId: 'h-1', data: 'a\0b' });
  const limited = { ...run, memory: '64m', cpus: '0.5', pidsLimit: 20 };
  assert.deepEqual(validateCall('run', limited), limited);
  assert.equal(validateCall('listLessons', undefined), undefined);
  assert.deepEqual(validateCall('verifyStep', { lessonId: 'classic', stepId: 'uts', id: 'abc123' }), { lessonId: 'classic', stepId: 'uts', id: 'abc123' });
  assert.deepEqual(validateCall('syscallLog', { id: 'abc123' }), { id: 'abc123' });
  assert.equal(validateCall('preflight', null), undefined);
  assert.deepEqual(validateCall('equivalent', { command: ['/bin/sh'], namespaces: ['uts'], hostname: 'x' }), { command: ['/bin/sh'], namespaces: ['uts'], hostname: 'x' });
});

const bad: [string, string, unknown, RegExp][] = [
  ['unknown method', 'rm -rf', {}, /unknown method/],
  ['wrong type', 'stop', { id: 42 }, /stop\.id must be a string, got a number/],
  ['not an object', 'stop', 'abc', /stop must be an object/],
  ['array instead of object', 'stop', ['abc'], /stop must be an object, got an array/],
  ['unknown field', 'stop', { id: 'a', force: true }, /unknown field "force"/],
  ['missing field', 'inspect', {}, /missing "id"/],
  ['watch without an id', 'watchInspection', {}, /watchInspection is missing "id"/],
  ['watch of a path', 'unwatchInspection', { id: '../etc' }, /unwatchInspection\.id has an unexpected form/],
  ['huge string', 'listDir', { id: 'a', side: 'host', path: '/' + 'x'.repeat(10000) }, /limit is 4096/],
  ['NUL in path', 'listDir', { id: 'a', side: 'host', path: '/etc\0/passwd' }, /NUL byte/],
  ['NUL in argv', 'run', { ...run, command: ['/bin/sh\0'] }, /run\.command\[0\] contains a NUL byte/],
  ['relative path', 'listDir', { id: 'a', side: 'host', path: 'etc' }, /unexpected form/],
  ['bad side', 'listDir', { id: 'a', side: 'guest', path: '/' }, /one of host, container/],
  ['unknown namespace', 'run', { ...run, namespaces: ['pid', 'time'] }, /namespaces\[1\] must be one of/],
  ['duplicate namespace', 'run', { ...run, namespaces: ['pid', 'pid'] }, /duplicates/],
  ['float cols', 'openHostShell', { cols: 80.5, rows: 24 }, /must be an integer/],
  ['absurd rows', 'openHostShell', { cols: 80, rows: 1e9 }, /between 1 and 500/],
  ['argument where none', 'listContainers', { x: 1 }, /takes no argument/],
  ['huge paste', 'writeTerminal', { terminalId: 'h-1', data: 'x'.repeat(70000) }, /limit is 65536/],
  ['odd terminal id', 'closeTerminal', { terminalId: '../x' }, /unexpected form/],
  ['memory not a size', 'run', { ...run, memory: 'lots' }, /^run\.memory "lots": expected a size like 64m or 1g/],
  ['memory as number', 'run', { ...run, memory: 64 }, /run\.memory must be a string/],
  ['negative cpus', 'run', { ...run, cpus: '-1' }, /^run\.cpus "-1": expected a number of CPUs like 0\.5/],
  ['zero pids limit', 'run', { ...run, pidsLimit: 0 }, /^run\.pidsLimit "0": expected a whole number of processes, at least 1/],
  ['fractional pids limit', 'run', { ...run, pidsLimit: 2.5 }, /must be an integer/],
  ['lesson id with a path', 'verifyStep', { lessonId: '../x', stepId: 'a', id: 'abc' }, /verifyStep\.lessonId has an unexpected form/],
  ['verify without a container', 'verifyStep', { lessonId: 'a', stepId: 'b' }, /missing "id"/],
  ['syscall log of a path', 'syscallLog', { id: '/etc' }, /syscallLog\.id has an unexpected form/],
  ['preflight with an argument', 'preflight', { all: true }, /takes no argument/],
  ['equivalent with a terminal size', 'equivalent', { command: ['/bin/sh'], namespaces: [], cols: 80 }, /unknown field "cols"/],
  ['equivalent without namespaces', 'equivalent', { command: ['/bin/sh'] }, /missing "namespaces"/],
  ['host check with an argument', 'hostCheck', { deep: true }, /hostCheck takes no argument/],
  ['clean up with a list', 'cleanupHost', ['mount'], /cleanupHost takes no argument, got an array/],
  ['class instance', 'stop', new (class { id = 'a'; })(), /plain object/],
];

for (const [name, method, arg, message] of bad) {
  test(`rejects ${name}`, () => {
    assert.throws(() => validateCall(method as 'stop', arg), (e: unknown) => {
      assert.ok(e instanceof ValidationError);
      assert.match(e.message, message);
      assert.ok(!e.message.includes('\n'), 'one line');
      return true;
    });
  });
}
