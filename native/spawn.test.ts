// The native pre-exec step, driven directly: each planned call runs in the child, in order, and a
// failure comes back as a SyscallError naming the call, its decoded arguments and the errno.
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CLONE, MS, cloneFlagNames, mountFlagNames } from './constants';
import { SyscallError } from './errors';
import { pipe2, reapBlocking } from './libc';
import { Program } from './program';
import { PreCloned, spawnProcess, spawnProcessAsync } from './spawn';
import { syscallLog, type SyscallEntry } from './syscall-log';

const sleepMs = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

/** A process's state letter (R, S, Z…), or undefined once it is gone. */
function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

function runCapture(flags: number, build: (p: Program, outFd: number) => Program): { out: string; status: number } {
  const [r, w] = pipe2(0o2000000);
  const program = build(new Program(), w);
  const s = spawnProcess({ flags, program });
  closeSync(w);
  const out = readFileSync(r, 'utf8');
  closeSync(r);
  return { out, status: reapBlocking(s.pid) };
}

describe('native step', () => {
  test('decodes flags by name', () => {
    assert.equal(cloneFlagNames(CLONE.NEWPID | CLONE.NEWUTS), 'CLONE_NEWUTS|CLONE_NEWPID');
    assert.equal(mountFlagNames(MS.REC | MS.PRIVATE | 0x20000000), 'MS_REC|MS_PRIVATE|0x20000000');
  });

  test('runs the program in new namespaces and execs', () => {
    const { out, status } = runCapture(CLONE.NEWPID | CLONE.NEWUTS | CLONE.NEWNS, (p, w) =>
      p.mount(null, '/', null, MS.REC | MS.PRIVATE).sethostname('native-test').dup2(w, 1)
        .execve('/bin/sh', ['sh', '-c', 'echo $$ $(hostname) $(readlink /proc/self/ns/uts)'], []));
    assert.equal(status, 0);
    const [pid, host, uts] = out.trim().split(' ');
    assert.equal(pid, '1');
    assert.equal(host, 'native-test');
    assert.notEqual(uts, readlinkSync('/proc/self/ns/uts'));
  });

  test('a user namespace waits for the maps the parent writes', () => {
    const [r, w] = pipe2(0o2000000);
    const s = spawnProcess({
      flags: CLONE.NEWUSER,
      program: new Program().dup2(w, 1).execve('/bin/sh', ['sh', '-c', 'cat /proc/self/uid_map; id -u'], []),
      beforeContinue: (pid) => writeFileSync(`/proc/${pid}/uid_map`, '0 4242 1\n'),
    });
    closeSync(w);
    const out = readFileSync(r, 'utf8');
    closeSync(r);
    reapBlocking(s.pid);
    assert.deepEqual(out.trim().split(/\s+/), ['0', '4242', '1', '65534'], 'host root is not mapped: it shows as the overflow uid');
  });

  test('a failing step throws with the call named and nothing half-made', () => {
    const log: SyscallEntry[] = [];
    const stop = syscallLog.subscribe((e) => log.push(e));
    try {
      assert.throws(
        () => spawnProcess({ flags: CLONE.NEWUTS, program: new Program().sethostname('x'.repeat(65)).execve('/bin/true', ['true'], []) }),
        (e: unknown) => e instanceof SyscallError && e.code === 'EINVAL' && e.message === `sethostname("${'x'.repeat(65)}", 65) failed: EINVAL (Invalid argument)`,
      );
    } finally {
      stop();
    }
    const child = log.filter((e) => e.where === 'child');
    assert.equal(child.at(-1)?.name, 'sethostname');
    assert.equal(child.at(-1)?.errno, 'EINVAL');
    assert.ok(log.some((e) => e.name === 'clone' && e.args === 'CLONE_NEWUTS|SIGCHLD'));
    assert.ok(log.some((e) => e.name === 'waitpid'), 'the failed child was reaped');
  });

  test('a failing execve is reported too', () => {
    assert.throws(() => spawnProcess({ flags: 0, program: new Program().execve('/no/such/binary', ['x'], []) }), /execve\("\/no\/such\/binary", \["x"\], \[0 vars\]\) failed: ENOENT/);
  });

  test("continueAt: the child's steps before it run while the parent does its part", () => {
    const dir = mkdtempSync(join(tmpdir(), 'locker-spawn-'));
    const file = join(dir, 'early');
    const fd = openSync(file, 'w');
    try {
      let seen = '';
      const s = spawnProcess({
        flags: CLONE.NEWUTS,
        program: new Program().write(fd, 'early', file).sethostname('after-the-wait').execve('/bin/true', ['true'], []),
        continueAt: 1,
        beforeContinue: () => {
          // The child is let go only after this returns: what it wrote, it wrote before.
          const end = Date.now() + 20_000;
          while ((seen = readFileSync(file, 'utf8')) === '' && Date.now() < end) sleepMs(10);
        },
      });
      assert.equal(seen, 'early');
      assert.deepEqual(s.steps.map((r) => r.step.name), ['write', 'read', 'sethostname']);
      assert.equal(reapBlocking(s.pid), 0);
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("continueAt: a child failing before its wait is the failure reported, not the parent's part that failed for its sake", () => {
    let child = 0;
    assert.throws(() => spawnProcess({
      flags: 0,
      program: new Program().chdir('/no/such/dir').execve('/bin/true', ['true'], []),
      continueAt: 1,
      beforeContinue: (pid) => {
        child = pid;
        // As a veth into a namespace that went with its process: the parent's part fails once the child is gone.
        const end = Date.now() + 20_000;
        while (processState(pid) !== 'Z' && Date.now() < end) sleepMs(10);
        throw new Error('the parent part failed');
      },
    }), (e: unknown) => e instanceof SyscallError && e.message === 'chdir("/no/such/dir") failed: ENOENT (No such file or directory)');
    assert.equal(processState(child), undefined, 'the child was reaped');
    // The parent's own failure, the child being fine, is the parent's.
    assert.throws(() => spawnProcess({
      flags: 0, program: new Program().chdir('/').execve('/bin/true', ['true'], []), continueAt: 1,
      beforeContinue: () => {
        throw new Error('the parent part failed');
      },
    }), /^Error: the parent part failed$/);
  });

  test('light: the clone made by locker-nsexec gives this process the same child, with the same fds as a clone of its own', async () => {
    const keep = pipe2(0); // inherited: not close-on-exec
    const shut = pipe2(0o2000000); // close-on-exec: gone at the child's execve
    const [r, w] = pipe2(0o2000000);
    const log: SyscallEntry[] = [];
    const stop = syscallLog.subscribe((e) => log.push(e));
    const script = 'echo $PPID; ls /proc/self/fd; readlink /proc/self/ns/uts';
    const run = async (light: boolean, flags: number): Promise<{ parent: number; fds: string[]; uts: string }> => {
      const s = await spawnProcessAsync({ flags, light, program: new Program().dup2(w, 1).execve('/bin/sh', ['sh', '-c', script], []) });
      assert.equal(reapBlocking(s.pid), 0, 'this process reaps it: it is its child');
      const lines = readOut().trim().split('\n');
      return { parent: Number(lines[0]), uts: lines[lines.length - 1], fds: lines.slice(1, -1).filter((fd) => fd !== '3') };
    };
    // The child has ended: what it wrote is all in the pipe, and one read takes it.
    const readOut = (): string => {
      const buf = Buffer.alloc(65536);
      return buf.subarray(0, readSync(r, buf, 0, buf.length, null)).toString();
    };
    try {
      const light = await run(true, CLONE.NEWUTS);
      const own = await run(false, CLONE.NEWUTS);
      assert.equal(light.parent, process.pid);
      assert.notEqual(light.uts, readlinkSync('/proc/self/ns/uts'));
      assert.ok(light.fds.includes(String(keep[1])) && !light.fds.includes(String(shut[1])), light.fds.join(' '));
      assert.deepEqual(light.fds, own.fds, 'the same fds survive its execve');
      const clones = log.filter((e) => e.name === 'clone').map((e) => e.args);
      assert.deepEqual(clones, ['CLONE_NEWUTS|SIGCHLD (by locker-nsexec, CLONE_PARENT)', 'CLONE_NEWUTS|SIGCHLD']);
      // A user namespace is made by this process itself (AppArmor lets only profiled programs make one).
      log.length = 0;
      const inUserNs = await spawnProcessAsync({ flags: CLONE.NEWUSER, light: true, program: new Program().execve('/bin/true', ['true'], []) });
      assert.equal(reapBlocking(inUserNs.pid), 0);
      assert.deepEqual(log.filter((e) => e.name === 'clone').map((e) => e.args), ['CLONE_NEWUSER|SIGCHLD']);
    } finally {
      stop();
      for (const fd of [...keep, ...shut, r, w]) closeSync(fd);
    }
  });

  test('pre-cloned: a child made before its program runs its first steps, waits, then runs the program sent later', async () => {
    const [r, w] = pipe2(0o2000000);
    const log: SyscallEntry[] = [];
    const stop = syscallLog.subscribe((e) => log.push(e));
    let keep: { report: number; load: number } | undefined;
    // Its first steps keep only where it reports, loads and writes (w); everything else is closed.
    const pre = new PreCloned(CLONE.NEWUTS | CLONE.NEWPID, (k) => {
      keep = k;
      return new Program().closeAllBut([k.report, k.load, w]).sethostname('ahead');
    });
    const later = pipe2(0); // opened after the clone: never the child's
    try {
      assert.ok(pre.waiting());
      const heldFds = (): string[] => readdirSync(`/proc/${pre.pid}/fd`).sort((a, b) => Number(a) - Number(b));
      for (let i = 0; i < 500 && heldFds().length !== 3; i++) await new Promise((res) => setTimeout(res, 2));
      assert.deepEqual(heldFds(), [keep!.report, keep!.load, w].sort((a, b) => a - b).map(String), 'nothing of this process is held while it waits');
      const program = new Program().dup2(w, 1).execve('/bin/sh', ['sh', '-c', 'hostname; echo $$; ls /proc/self/fd'], []);
      await assert.rejects(spawnProcessAsync({ flags: CLONE.NEWUTS, early: pre, program }), /cloned ahead with CLONE_NEWUTS\|CLONE_NEWPID, planned with CLONE_NEWUTS/);
      const s = await spawnProcessAsync({ flags: CLONE.NEWUTS | CLONE.NEWPID, early: pre, program });
      assert.equal(s.pid, pre.pid);
      assert.equal(reapBlocking(s.pid), 0);
      const buf = Buffer.alloc(65536);
      const [hostname, pid, ...fds] = buf.subarray(0, readSync(r, buf, 0, buf.length, null)).toString().trim().split('\n');
      assert.equal(hostname, 'ahead', 'its first steps ran in its own UTS namespace');
      assert.equal(pid, '1', 'PID 1 of the PID namespace of its clone');
      assert.ok(!fds.includes(String(later[1])), fds.join(' '));
      // The report: its first steps (the closes, sethostname, the load), then the program's, numbered on.
      const names = s.steps.map((x) => x.step.name);
      assert.deepEqual(names.slice(names.indexOf('sethostname')), ['sethostname', 'read', 'dup2']);
      assert.ok(names.slice(0, names.indexOf('sethostname')).every((n) => n === 'close_range'));
      // Not logged when it happens (no container is its yet): kept for the one that takes it.
      assert.ok(!log.some((e) => e.name === 'clone'));
      assert.match(pre.clone.args, /^CLONE_NEWUTS\|CLONE_NEWPID\|SIGCHLD \(by locker-nsexec, CLONE_PARENT, ahead of its program\)$/);
      assert.equal(pre.clone.result, pre.pid);
      assert.throws(() => pre.deliver(program), /has had its program/);
      // One that gets no program ends when closed: its load reads EOF; it is reaped.
      const children = (): string => readFileSync(`/proc/self/task/${process.pid}/children`, 'utf8').trim();
      const before = children();
      const unused = new PreCloned(CLONE.NEWUTS, () => new Program());
      assert.notEqual(children(), before, 'cloned');
      unused.close();
      assert.equal(unused.waiting(), false);
      assert.equal(children(), before, 'gone and reaped');
    } finally {
      stop();
      for (const fd of [r, w, ...later]) closeSync(fd);
    }
  });

  test('an abort ends a child blocked in a step: killed, reaped, the promise rejects with the reason', { timeout: 20_000 }, async () => {
    // A step that never returns (the child reads a pipe nobody writes), as a FIFO open would block.
    const [r, w] = pipe2(0o2000000);
    const ctl = new AbortController();
    const log: SyscallEntry[] = [];
    const stop = syscallLog.subscribe((e) => log.push(e));
    try {
      const launch = spawnProcessAsync({ flags: CLONE.NEWUTS, light: true, signal: ctl.signal, program: new Program().waitFor(r).execve('/bin/true', ['true'], []) });
      const pid = Number(log.find((e) => e.name === 'clone')?.result);
      assert.ok(pid > 0, 'cloned');
      sleepMs(50);
      assert.equal(processState(pid), 'S', 'blocked in its read');
      const reason = new Error('interrupted');
      ctl.abort(reason);
      await assert.rejects(launch, (e) => e === reason);
      assert.equal(processState(pid), undefined, 'killed and reaped: no zombie left');
      await assert.rejects(spawnProcessAsync({ flags: 0, signal: ctl.signal, program: new Program().execve('/bin/true', ['true'], []) }), (e) => e === reason, 'aborted already: nothing is cloned');
      assert.equal(log.filter((e) => e.name === 'clone').length, 1);
    } finally {
      stop();
      closeSync(r);
      closeSync(w);
    }
  });

  test('fork after setns: the grandchild runs in the joined PID namespace', async () => {
    const holder = spawnProcess({ flags: CLONE.NEWPID, program: new Program().execve('/bin/sleep', ['sleep', '5'], []) });
    try {
      const fd = openSync(`/proc/${holder.pid}/ns/pid`, 'r');
      const { out } = runCapture(0, (p, w) => p.setns(fd, CLONE.NEWPID).fork().dup2(w, 1).execve('/bin/sh', ['sh', '-c', 'echo $$'], []));
      closeSync(fd);
      assert.equal(out.trim(), '2', 'PID 2: the holder is PID 1 of that namespace');
    } finally {
      process.kill(holder.pid, 'SIGKILL');
      reapBlocking(holder.pid);
    }
  });
});
