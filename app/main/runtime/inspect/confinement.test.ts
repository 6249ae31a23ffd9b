// Confinement read from /proc against what the kernel says, and explained against Locker's defaults.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { DEFAULT_CAPS } from '../security/capabilities';
import { capNames, confinement, differences, parseStatus } from './confinement';
import { compareNamespaces } from './namespaces';

test('this process\'s /proc status: seccomp mode, no_new_privs and capability sets as the kernel writes them', () => {
  const status = readFileSync('/proc/self/status', 'utf8');
  const c = parseStatus(status);
  const mode = Number(/^Seccomp:\s*(\d)/m.exec(status)![1]);
  assert.equal(c.seccomp, ['none', 'strict', 'filter'][mode]);
  assert.equal(c.noNewPrivs, /^NoNewPrivs:\s*1/m.test(status));
  const bnd = BigInt(`0x${/^CapBnd:\s*(\w+)/m.exec(status)![1]}`);
  assert.equal(c.bounding.length, bnd.toString(2).split('').filter((b) => b === '1').length);
  assert.deepEqual(capNames('0000000000000005'), ['CHOWN', 'DAC_READ_SEARCH']);
});

test('the host seen as a container differs from Locker\'s default in every namespace, and says how', () => {
  const c = confinement(process.pid, compareNamespaces(process.pid), '0 0 4294967295\n');
  assert.ok(c);
  const topics = c.differences.map((d) => d.topic);
  for (const ns of ['pid', 'mnt', 'net', 'cgroup']) assert.ok(topics.includes(`${ns} namespace`), `${ns}: shared with the host`);
  assert.ok(!topics.includes('user namespace'), 'no user namespace is Locker\'s rootful default too');
});

test('runc spec\'s confinement: no filter, 3 capabilities, a user namespace; Locker\'s own default: no differences', () => {
  const separate = compareNamespaces(process.pid).map((n) => ({ ...n, shared: false }));
  const runc = { seccomp: 'none', seccompFilters: 0, noNewPrivs: true, effective: ['KILL'], bounding: ['AUDIT_WRITE', 'KILL', 'NET_BIND_SERVICE'] };
  const d = differences(runc, separate, '0 100000 65536\n');
  assert.deepEqual(d.map((x) => x.topic), ['user namespace', 'seccomp', 'capabilities']);
  assert.match(d[0].why, /uid 0 inside is uid 100000 of the host/);
  assert.match(d[2].why, /drops 11 Locker keeps/);
  const locker = { seccomp: 'filter', seccompFilters: 1, noNewPrivs: true, effective: [...DEFAULT_CAPS], bounding: [...DEFAULT_CAPS] };
  assert.deepEqual(differences(locker, separate.map((n) => ({ ...n, shared: n.type === 'user' })), '0 0 4294967295\n'), []);
  const loose = differences({ ...locker, noNewPrivs: false, bounding: [...DEFAULT_CAPS, 'SYS_ADMIN'] }, [], '');
  assert.deepEqual(loose.map((x) => x.topic), ['capabilities', 'no_new_privs']);
  assert.match(loose[0].why, /keeps 1 Locker drops: SYS_ADMIN/);
});
