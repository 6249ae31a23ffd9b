import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { CLONE, MS } from '../../../../native/constants';
import { kill, reapBlocking } from '../../../../native/libc';
import { Program } from '../../../../native/program';
import { spawnProcess } from '../../../../native/spawn';
import { syscallLog, type SyscallEntry } from '../../../../native/syscall-log';
import { containerHostname, containerHostnameAsync, HOSTNAME_CACHE_MS, hostHostname, hostnames } from './hostname';
import { startUnshare } from './testing';

test('a process in the host UTS namespace sees the host hostname', () => {
  assert.equal(hostHostname(), hostname());
  assert.equal(containerHostname(process.pid), hostname());
});

test('a UTS container (unshare) sees its own hostname, the host keeps its own', async (t) => {
  const c = await startUnshare(['--pid', '--fork', '--mount-proc', '--uts', '--mount', 'sh', '-c',
    'hostname inside-test; sleep 30 & echo ready; wait']);
  t.after(() => c.stop());
  assert.deepEqual(hostnames(c.pid), { host: hostname(), container: 'inside-test' });
  assert.equal(hostname() === 'inside-test', false);
  assert.equal(execFileSync('nsenter', ['-u', '-t', String(c.pid), 'hostname'], { encoding: 'utf8' }).trim(), 'inside-test');
});

test('a user+UTS container: joins the user namespace first', async (t) => {
  const c = await startUnshare(['--user', '--map-user=0', '--map-group=0', '--uts', 'sh', '-c',
    'hostname in-userns; echo ready; exec sleep 30']);
  t.after(() => c.stop());
  assert.equal(containerHostname(c.pid), 'in-userns');
});

test('a container made by spawnProcess (mount private + sethostname + execve sleep); cached ~500 ms', async (t) => {
  const program = new Program()
    .mount(null, '/', null, MS.REC | MS.PRIVATE)
    .sethostname('spawned-box')
    .execve('/bin/sleep', ['sleep', '30'], []);
  const child = spawnProcess({ flags: CLONE.NEWUTS | CLONE.NEWNS, program });
  t.after(() => {
    kill(child.pid, 9, 3);
    reapBlocking(child.pid);
  });
  const fdsBefore = readdirSync('/proc/self/fd').length;
  assert.equal(containerHostname(child.pid), 'spawned-box');
  assert.equal(readdirSync('/proc/self/fd').length, fdsBefore, 'no fd leaked');
  execFileSync('nsenter', ['-u', '-t', String(child.pid), 'hostname', 'renamed-box']);
  const t0 = process.hrtime.bigint();
  assert.equal(containerHostname(child.pid), 'spawned-box', 'served from the cache');
  assert.ok(Number(process.hrtime.bigint() - t0) / 1e6 < 5, 'a cache hit spawns nothing');
  await new Promise((r) => setTimeout(r, HOSTNAME_CACHE_MS + 50));
  assert.equal(containerHostname(child.pid), 'renamed-box');
});

test('containerHostnameAsync (root): read on the namespace thread, no process; this thread keeps the host\'s hostname', async (t) => {
  const c = await startUnshare(['--pid', '--fork', '--mount-proc', '--uts', '--mount', 'sh', '-c',
    'hostname via-thread; sleep 30 & echo ready; wait']);
  const u = await startUnshare(['--user', '--map-user=0', '--map-group=0', '--uts', 'sh', '-c',
    'hostname thread-userns; echo ready; exec sleep 30']);
  t.after(() => (c.stop(), u.stop()));
  const log: SyscallEntry[] = [];
  const stop = syscallLog.subscribe((e) => log.push(e));
  try {
    assert.equal(await containerHostnameAsync(c.pid), 'via-thread');
    assert.equal(await containerHostnameAsync(u.pid), 'thread-userns', 'a user namespace\'s UTS namespace too, without joining the user namespace');
  } finally {
    stop();
  }
  assert.deepEqual(log.filter((e) => e.name === 'clone'), [], 'no uname process was started');
  assert.equal(hostname(), hostHostname());
  assert.notEqual(hostname(), 'via-thread', 'the asking thread never left the host\'s UTS namespace');
  assert.equal(containerHostname(c.pid), 'via-thread', 'cached for the synchronous read');
  assert.equal(await containerHostnameAsync(process.pid), hostname(), 'the host\'s own');
});

test('a vanished process gives a clear error', () => {
  assert.throws(() => containerHostname(0x3fffffff), /process \d+ is gone/);
});
