import test from 'node:test';
import assert from 'node:assert/strict';
import { parseProcCgroup } from './proc-cgroup';

test('parses v2 and v1 lines', () => {
  const p = parseProcCgroup('9:name=systemd:/\n4:memory:/locker/abc\n1:cpu,cpuacct:/locker/abc\n0::/user.slice/x.scope\n');
  assert.equal(p.v2, '/user.slice/x.scope');
  assert.equal(p.v1.memory, '/locker/abc');
  assert.equal(p.v1.cpu, '/locker/abc');
  assert.equal(p.v1.cpuacct, '/locker/abc');
  assert.equal(p.v1['name=systemd'], '/');
  assert.deepEqual(parseProcCgroup('0::/\n'), { v2: '/', v1: {} });
});
