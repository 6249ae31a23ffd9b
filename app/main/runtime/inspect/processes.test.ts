import test from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { containerProcessTable, containerProcessesOnly, formatCmdline, hostProcessTable, parseNSpid, parseStat } from './processes';
import { childrenOf, startUnshare } from './testing';

test('parseStat takes comm up to the last parenthesis', () => {
  const s = parseStat('1234 (a) b (c)) S 77 1234 1234 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 5555 0 0\n');
  assert.deepEqual(s, { pid: 1234, name: 'a) b (c)', state: 'S', ppid: 77, startTime: 5555 });
  assert.equal(parseStat('garbage'), null);
});

test('formatCmdline turns NULs into spaces and falls back to [name]', () => {
  assert.equal(formatCmdline(Buffer.from('sleep\x0030\x00'), 'sleep'), 'sleep 30');
  assert.equal(formatCmdline(Buffer.alloc(0), 'kthreadd'), '[kthreadd]');
  assert.equal(formatCmdline(null, 'gone'), '[gone]');
});

test('parseNSpid returns every level, outermost first', () => {
  assert.deepEqual(parseNSpid('Name:\tsh\nNSpid:\t4242\t1\nNSsid:\t1\n'), [4242, 1]);
  assert.deepEqual(parseNSpid('NSpid:\t17\n'), [17]);
  assert.equal(parseNSpid('Name:\tx\n'), null);
});

test('host table lists this process, unmarked, with the kernel\'s ppid and cmdline', () => {
  const table = hostProcessTable(-1);
  const me = table.find((p) => p.pid === process.pid);
  assert.ok(me);
  assert.equal(me.ppid, process.ppid);
  assert.equal(me.inContainer, false);
  assert.equal(me.containerPid, undefined);
  assert.equal(me.cmdline, readFileSync('/proc/self/cmdline', 'utf8').replace(/\0$/, '').replace(/\0/g, ' '));
  assert.ok(table.some((p) => p.pid === 1));
  assert.equal(containerProcessTable(-1, table).length, 0);
});

test('a PID-namespace container: init and descendants are marked with their NSpid', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'inspect-proc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const odd = join(dir, 'we) ird (name');
  copyFileSync('/bin/sleep', odd);
  const c = await startUnshare(['--pid', '--fork', '--mount-proc', 'sh', '-c',
    `sh -c 'sleep 30 & wait' & '${odd}' 30 & sleep 0.05; echo ready; wait`]);
  t.after(() => c.stop());
  // wait until the grandchild exists
  const deadline = Date.now() + 2000;
  let table = hostProcessTable(c.pid);
  while (containerProcessTable(c.pid, table).length < 4 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    table = hostProcessTable(c.pid);
  }
  const inside = containerProcessTable(c.pid, table);
  assert.equal(inside.length, 4, JSON.stringify(inside));
  const init = inside.find((p) => p.pid === c.pid);
  assert.ok(init);
  assert.equal(init.containerPid, 1);
  assert.equal(init.containerPpid, 0);
  assert.equal(init.ppid, c.unsharePid);
  const unshare = table.find((p) => p.pid === c.unsharePid);
  assert.equal(unshare?.inContainer, false);
  for (const p of inside) {
    const ns = readFileSync(`/proc/${p.pid}/status`, 'utf8').match(/^NSpid:\s*(.*)$/m)![1].trim().split(/\s+/).map(Number);
    assert.equal(ns[0], p.pid);
    assert.equal(p.containerPid, ns[ns.length - 1]);
    if (p.pid !== c.pid) assert.equal(p.containerPpid, inside.find((q) => q.pid === p.ppid)?.containerPid);
  }
  const weird = inside.find((p) => p.name === 'we) ird (name');
  assert.ok(weird, 'comm with ") (" parsed');
  assert.equal(weird.cmdline, `${odd} 30`);
  assert.equal(weird.ppid, c.pid);
  // a grandchild (sleep under the inner sh) is marked too
  const innerSh = childrenOf(c.pid).find((pid) => inside.find((p) => p.pid === pid)?.name === 'sh');
  assert.ok(innerSh);
  assert.ok(inside.some((p) => p.ppid === innerSh && p.name === 'sleep'));
});

// Its speed is the bench's to measure (inspect_main_ms_1k/5k), never a test's: here, that it is whole.
test('a snapshot of the whole host table holds every process that lived throughout it', () => {
  const pids = () => new Set(readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number));
  const before = pids();
  const table = new Set(hostProcessTable(1).map((e) => e.pid));
  const after = pids();
  const missing = [...before].filter((p) => after.has(p) && !table.has(p));
  assert.deepEqual(missing, []);
  assert.ok(table.has(process.pid) && table.has(1));
});

test('the container-only walk finds what the host table marks: the same entries, a zombie and an exec\'d tree too', async (t) => {
  // A zombie for sure: perl's child exits at once and perl sleeps without waiting for it. (A shell's
  // own background child could be reaped before its exec, under load.)
  const c = await startUnshare(['--pid', '--fork', '--mount-proc', 'sh', '-c',
    `sh -c 'sleep 30 & sleep 30 & wait' & perl -e 'fork or exit; sleep 30' & echo ready; exec sleep 30`]);
  t.after(() => c.stop());
  // A process that joined later (as locker exec's do): not the init's descendant, given as an extra root.
  const joined = spawn('sh', ['-c', 'sleep 30 & wait'], { stdio: 'ignore', detached: true });
  t.after(() => process.kill(-joined.pid!, 'SIGKILL'));
  const extra = [joined.pid!];
  const full = (): ReturnType<typeof containerProcessTable> => containerProcessTable(c.pid, hostProcessTable(c.pid, extra));
  const deadline = Date.now() + 5000;
  // init (sleep), inner sh, its two sleeps, perl and its zombie; the joined sh and its sleep.
  while ((full().length < 8 || !full().some((p) => p.cmdline === '[perl]')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const marked = full();
  assert.equal(marked.length, 8, JSON.stringify(marked));
  assert.ok(marked.some((p) => p.cmdline === '[perl]'), 'the zombie is listed');
  assert.deepEqual(containerProcessesOnly(c.pid, extra), marked);
  // Without the extra root, neither finds the joined tree; a gone init has no processes at all.
  assert.deepEqual(containerProcessesOnly(c.pid), containerProcessTable(c.pid, hostProcessTable(c.pid)));
  assert.deepEqual(containerProcessesOnly(2 ** 22 + 1), []);
});
