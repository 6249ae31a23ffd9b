// The shared grammar, row by row: what is accepted (and as what) and what is refused (with which fix).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CPUS_ROWS, HOSTNAME_ROWS, MEMORY_ROWS, PIDS_ROWS, type Row } from '../main/testing/grammar-rows';
import { checkNamespaces, checkVolumeSpec, parseCpus, parseHostname, parseMemory, parseMount, parseName, parseNamespaceList, parsePidsLimit, parseVolume, volumeText, type Parsed } from './grammar';

function check<T>(parse: (s: string) => Parsed<T>, rows: Row<T>[]): void {
  for (const [input, want] of rows) {
    const r = parse(input);
    if (want instanceof RegExp) {
      assert.equal(r.ok, false, `${JSON.stringify(input)} should be refused`);
      if (!r.ok) {
        assert.match(r.problem, want, JSON.stringify(input));
        assert.ok(!r.problem.includes('\n'), 'one line');
      }
    } else {
      assert.deepEqual(r, { ok: true, value: want }, JSON.stringify(input));
    }
  }
}

test('memory: sizes with units, at least 6m, one-line problems naming the form to use', () => check(parseMemory, MEMORY_ROWS));
test('cpus: .5 and 0.5 alike, from 0.01 to the CPUs of the machine', () => check((s) => parseCpus(s, 2), CPUS_ROWS(2)));
test('pids: whole numbers from 1 to the kernel limit', () => check(parsePidsLimit, PIDS_ROWS));
test('hostnames: RFC 1123 labels, 64 bytes at most', () => check(parseHostname, HOSTNAME_ROWS));

test('namespace lists: known names, none twice; "none" on purpose', () => {
  check((s) => parseNamespaceList(s, '--ns'), [
    ['pid,uts', ['pid', 'uts']], [' net , ipc ', ['net', 'ipc']], ['none', []],
    ['pid,bogus', /^unknown namespace "bogus" in --ns; choose from pid,uts,mnt,user,ipc,net,cgroup$/],
    ['pid,pid', /namespace "pid" is listed twice/], [',', /names no namespace; list some/], ['time', /unknown namespace "time"/],
  ]);
  assert.deepEqual(checkNamespaces(['user', 'mnt']), { ok: true, value: ['user', 'mnt'] });
  assert.equal(checkNamespaces(['mnt', 'mnt']).ok, false);
});

test('container names', () => {
  check(parseName, [['web-1', 'web-1'], ['a.b_c', 'a.b_c'], ['-x', /invalid name/], ['a'.repeat(65), /at most 64/], ['x y', /invalid name/], ['', /invalid name/]]);
});

test('volume propagation: -v options, --mount bind-propagation=, data, and back to a -v line', () => {
  check(parseVolume, [
    ['/s:/d', { source: '/s', target: '/d', readonly: false }],
    ['/s:/d:rslave', { source: '/s', target: '/d', readonly: false, propagation: 'rslave' }],
    ['/s:/d:ro,slave', { source: '/s', target: '/d', readonly: true, propagation: 'slave' }],
    ['/s:/d:rprivate', { source: '/s', target: '/d', readonly: false }],
    ['/s:/d:rshared', /rshared is not supported: Locker never sends the container's mounts back to the host; use rslave/],
    ['/s:/d:rslave,private', /names rslave and private; give one propagation/],
    ['/s:/d:slavish', /unknown option "slavish"; Locker knows ro, rw and a propagation \(rprivate, private, rslave, slave\)/],
  ]);
  check(parseMount, [
    ['type=bind,src=/s,dst=/d,readonly,bind-propagation=rslave', { source: '/s', target: '/d', readonly: true, propagation: 'rslave' }],
    ['type=bind,src=/s,dst=/d,bind-propagation=shared', /shared is not supported/],
  ]);
  check(checkVolumeSpec, [['', /needs a source/]]);
  assert.deepEqual(checkVolumeSpec({ source: '/s', target: '/d', readonly: false, propagation: 'rslave' }), { ok: true, value: { source: '/s', target: '/d', readonly: false, propagation: 'rslave' } });
  assert.equal(checkVolumeSpec({ source: '/s', target: '/d', propagation: 'rshared' }).ok, false);
  assert.equal(volumeText({ source: '/s', target: '/d', readonly: true, propagation: 'rslave' }), '/s:/d:ro,rslave');
  assert.equal(volumeText({ source: '/s', target: '/d', readonly: false }), '/s:/d');
});
