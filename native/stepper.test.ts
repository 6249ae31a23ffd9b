// Step-through against the real kernel: the child really waits in read() before each planned
// call, the event loop keeps running meanwhile, and cancel makes it exit without the rest.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { describe, test } from 'node:test';
import { CLONE } from './constants';
import { pipe2, reapBlocking } from './libc';
import { Program } from './program';
import { spawnProcessStepwise } from './spawn';
import { StepCancelled, Stepper, type StepStatus } from './stepper';
import { syscallLog, type SyscallEntry } from './syscall-log';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const pausedAt = (s: Stepper, index: number): Promise<StepStatus> =>
  until(`a pause before call ${index}`, () => (s.current.state === 'paused' && s.current.pending?.index === index ? s.current : undefined));

/** Field 3 of /proc/<pid>/stat: R, S, D, Z… */
function procState(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
}

const utsHostname = (pid: number): string => execFileSync('nsenter', ['-t', String(pid), '-u', 'hostname'], { encoding: 'utf8' }).trim();

describe('step-through', () => {
  test('pauses before each call: the child sleeps in read(), nothing of the call has happened yet', async () => {
    const [r, w] = pipe2(0o2000000);
    const program = new Program().sethostname('stepped').dup2(w, 1).execve('/bin/sh', ['sh', '-c', 'echo $(hostname)'], []);
    const stepper = new Stepper();
    const seen: string[] = [];
    stepper.onChange((s) => seen.push(s.state + (s.pending ? `:${s.pending.name}` : '')));
    const log: SyscallEntry[] = [];
    const stop = syscallLog.subscribe((e) => log.push(e));
    let spawned;
    try {
      const done = spawnProcessStepwise({ flags: CLONE.NEWUTS, program, stepper });
      let settled = false;
      void done.then(() => (settled = true), () => (settled = true));

      const first = await pausedAt(stepper, 0);
      assert.equal(first.total, 3);
      assert.equal(first.pending?.name, 'sethostname');
      assert.equal(first.pending?.args, '"stepped", 7');
      const pid = first.pid!;
      // the event loop ran to get here; the child is blocked, not spinning
      await until('state S', () => procState(pid) === 'S');
      assert.match(readFileSync(`/proc/${pid}/wchan`, 'utf8'), /pipe|read/);
      assert.equal(utsHostname(pid), hostname(), 'sethostname has not run yet');
      await sleep(100);
      assert.equal(settled, false, 'still paused after a while');
      assert.ok(log.some((e) => e.name === 'clone' && e.where === 'host'));
      assert.ok(!log.some((e) => e.name === 'sethostname'));

      stepper.next();
      await pausedAt(stepper, 1);
      assert.equal(utsHostname(pid), 'stepped', 'one release, one call');
      assert.equal(procState(pid), 'S');
      assert.ok(log.some((e) => e.where === 'child' && e.name === 'sethostname' && e.result === 0n));
      assert.ok(!log.some((e) => e.name === 'dup2'));

      stepper.next();
      await pausedAt(stepper, 2);
      assert.equal(stepper.current.pending?.name, 'execve');
      stepper.runToEnd();
      spawned = await done;
    } finally {
      stop();
    }
    closeSync(w);
    assert.equal(readFileSync(r, 'utf8').trim(), 'stepped');
    closeSync(r);
    assert.equal(reapBlocking(spawned.pid), 0);
    assert.equal(stepper.current.state, 'done');
    assert.deepEqual(spawned.steps.map((s) => s.step.name), ['sethostname', 'dup2']);
    assert.deepEqual(seen.filter((x) => x.startsWith('paused')), ['paused:sethostname', 'paused:dup2', 'paused:execve']);
    assert.ok(!log.some((e) => e.where === 'child' && e.name === 'read'), 'the gates themselves are not logged');
  });

  test('run to exec releases every call at once', async () => {
    const stepper = new Stepper();
    const done = spawnProcessStepwise({ flags: CLONE.NEWUTS, program: new Program().sethostname('a').sethostname('b').execve('/bin/true', ['true'], []), stepper });
    await pausedAt(stepper, 0);
    stepper.runToEnd();
    const s = await done;
    assert.equal(reapBlocking(s.pid), 0);
    assert.equal(s.steps.length, 2);
  });

  test('cancel closes the step pipe: the waiting read() gets EOF, the child exits 127, the rest never runs', async () => {
    const stepper = new Stepper();
    const log: SyscallEntry[] = [];
    const stop = syscallLog.subscribe((e) => log.push(e));
    try {
      const done = spawnProcessStepwise({ flags: CLONE.NEWUTS | CLONE.NEWPID, program: new Program().sethostname('gone').execve('/bin/sleep', ['sleep', '100'], []), stepper });
      const { pid } = await pausedAt(stepper, 0);
      stepper.next();
      await pausedAt(stepper, 1);
      stepper.cancel();
      await assert.rejects(done, (e: unknown) => e instanceof StepCancelled && /before execve\("\/bin\/sleep"/.test(e.message));
      assert.equal(existsSync(`/proc/${pid}`), false, 'reaped');
      assert.equal(stepper.current.state, 'cancelled');
      const read = log.find((e) => e.where === 'child' && e.name === 'read');
      assert.equal(read?.errno, 'EPIPE');
      assert.ok(!log.some((e) => e.name === 'execve'));
      const wait = log.find((e) => e.name === 'waitpid' && e.args.startsWith(`${pid},`));
      assert.ok(wait, 'the child was reaped');
    } finally {
      stop();
    }
    assert.throws(() => stepper.next(), /not paused/);
  });

  test('a failing call still fails with its name while stepping', async () => {
    const stepper = new Stepper();
    const done = spawnProcessStepwise({ flags: CLONE.NEWUTS, program: new Program().sethostname('x'.repeat(65)).execve('/bin/true', ['true'], []), stepper });
    await pausedAt(stepper, 0);
    stepper.next();
    await assert.rejects(done, /sethostname\("x+", 65\) failed: EINVAL/);
    assert.equal(stepper.current.state, 'failed');
  });
});
