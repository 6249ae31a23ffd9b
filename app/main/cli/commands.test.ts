// ps, exec, stop, rm and inspect from a second "terminal" (another process), as a user would.
import assert from 'node:assert/strict';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { after, describe, test } from 'node:test';
import { containerState, runDetached, sandbox, startCli, until } from '../testing/harness';

const sb = sandbox();
after(() => sb.cleanup());

interface Listed { id: string; name: string; pid: number; state: string; exitCode?: number }
const ps = (): Listed[] => JSON.parse(sb.run(['ps', '--json']).stdout) as Listed[];

describe('a running container seen from another process', () => {
  test('ps, exec, inspect, stop (SIGTERM then SIGKILL), rm', async () => {
    const run = startCli(sb, ['run', '--name', 'web', '--hostname', 'box', '--', 'sh', '-c', 'echo started; exec sleep 60']);
    await until(() => run.output().includes('started'));
    const c = await until(() => ps().find((x) => x.name === 'web' && x.state === 'running'));
    assert.match(sb.run(['ps']).stdout, /web\s+running/);

    const ex = sb.run(['exec', 'web', '--', 'sh', '-c', 'echo $$; hostname; cat /proc/1/cmdline | tr "\\0" " "']);
    assert.equal(ex.status, 0, ex.stderr);
    const [pid, host, cmd] = ex.stdout.trim().split('\n');
    assert.ok(Number(pid) > 1, 'exec gets a new PID in the container: ' + pid);
    assert.equal(host, 'box');
    assert.equal(cmd.trim(), 'sleep 60');
    assert.equal(sb.run(['exec', 'web', '--', 'sh', '-c', 'exit 4']).status, 4);

    const info = JSON.parse(sb.run(['inspect', 'web']).stdout);
    assert.equal(info.pid, c.pid);
    assert.deepEqual(info.inspection.hostname, { host: hostname(), container: 'box' });
    const init = info.inspection.containerProcesses.find((p: { containerPid: number }) => p.containerPid === 1);
    assert.equal(init.pid, c.pid, 'container PID 1 is the init seen from the host');
    const status = readFileSync(`/proc/${c.pid}/status`, 'utf8');
    assert.match(status, new RegExp(`NSpid:\\s+${c.pid}\\s+1\\n`));
    for (const ns of info.inspection.namespaces as Array<{ type: string; container: string; shared: boolean }>) {
      assert.equal(ns.container, readlinkSync(`/proc/${c.pid}/ns/${ns.type}`));
      if (['pid', 'uts', 'mnt', 'net', 'ipc'].includes(ns.type)) assert.equal(ns.shared, false, ns.type);
      if (ns.type === 'user') assert.equal(ns.shared, true);
    }
    assert.ok(info.inspection.mounts.some((m: { mountPoint: string; fsType: string }) => m.mountPoint === '/proc' && m.fsType === 'proc'));
    // The host's whole table only with --host-processes (the app's side-by-side view); then it holds the init too.
    assert.equal(info.inspection.hostProcesses, undefined);
    const withHost = JSON.parse(sb.run(['inspect', '--host-processes', 'web']).stdout);
    assert.ok(withHost.inspection.hostProcesses.some((p: { pid: number }) => p.pid === c.pid));
    assert.ok(withHost.inspection.hostProcesses.some((p: { pid: number }) => p.pid === process.pid), 'and processes outside the container');
    assert.deepEqual(withHost.inspection.containerProcesses.map((p: { pid: number }) => p.pid), info.inspection.containerProcesses.map((p: { pid: number }) => p.pid));

    // sleep as PID 1 has no SIGTERM handler, so the kernel drops SIGTERM and stop must escalate.
    const t0 = Date.now();
    assert.equal(sb.run(['stop', '-t', '0.3', 'web']).status, 0);
    assert.ok(Date.now() - t0 < 5000);
    const done = await run.done;
    assert.equal(done.code, 137);
    assert.deepEqual(ps(), []);
  });

  test('a shell that traps SIGTERM ends with its own status on stop', async () => {
    const run = startCli(sb, ['run', '--name', 'trapper', '--keep', '--', 'sh', '-c', 'trap "exit 42" TERM; echo ready; while :; do sleep 0.05; done']);
    await until(() => run.output().includes('ready'));
    assert.equal(sb.run(['stop', 'trapper']).status, 0);
    assert.equal((await run.done).code, 42);
    const kept = ps().find((x) => x.name === 'trapper');
    assert.equal(kept?.state, 'exited');
    assert.equal(kept?.exitCode, 42);
    assert.match(sb.run(['ps', '-a']).stdout, /trapper\s+exited 42/);
    assert.equal(sb.run(['rm', 'trapper']).status, 0);
    assert.deepEqual(ps(), []);
  });

  test('SIGTERM to locker run reaches the container', async () => {
    const run = startCli(sb, ['run', '--', 'sh', '-c', 'trap "exit 3" TERM; echo ready; while :; do sleep 0.05; done']);
    await until(() => run.output().includes('ready'));
    run.child.kill('SIGTERM');
    assert.equal((await run.done).code, 3);
  });

  test('rm refuses a running container without -f, and -f stops it', async () => {
    const run = startCli(sb, ['run', '--name', 'busy', '--', 'sleep', '60']);
    await until(() => ps().find((x) => x.name === 'busy'));
    const refused = sb.run(['rm', 'busy']);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /is running; stop it first/);
    assert.equal(sb.run(['rm', '-f', 'busy']).status, 0);
    assert.equal((await run.done).code, 137);
    assert.deepEqual(ps(), []);
  });

  test('unknown ids get one clear line', () => {
    for (const cmd of [['stop', 'nope'], ['rm', 'nope'], ['exec', 'nope', '--', 'true'], ['inspect', 'nope']]) {
      const r = sb.run(cmd);
      assert.equal(r.status, 2, cmd.join(' '));
      // inspect also reads containers of other engines, so it points at their list too.
      const see = cmd[0] === 'inspect' ? 'locker ps (or locker ps --all-engines for every engine\'s)' : 'locker ps';
      assert.equal(r.stderr, `locker: no container "nope"; see ${see} for the ids\n`);
    }
  });
});

describe('stop waits the grace period only when SIGTERM can reach the init', () => {
  // A grace of ten minutes: a stop that waited it would outlast sb.run's deadline, so its returning
  // shows the wait was skipped; the exit status shows which signal ended the container (137: SIGKILL,
  // 143: SIGTERM's default action) or that its own handler ran (3).
  const READY = 'echo ready; while :; do sleep 0.1; done';
  const cases: Array<{ what: string; run: string[]; exitCode: number }> = [
    { what: 'sleep as its PID namespace\'s init: the kernel drops SIGTERM (no handler), so SIGKILL at once', run: ['--', 'sleep', '600'], exitCode: 137 },
    { what: 'an init that traps TERM ends by its own handler', run: ['--', 'sh', '-c', `trap "exit 3" TERM; ${READY}`], exitCode: 3 },
    { what: 'an init that ignores TERM: SIGKILL at once', run: ['--', 'sh', '-c', `trap "" TERM; ${READY}`], exitCode: 137 },
    // locker-init takes signals with sigwaitinfo: no handler shows in /proc, yet TERM reaches it.
    { what: '--init passes TERM on to sleep, which dies of it', run: ['--init', '--', 'sh', '-c', 'echo ready; exec sleep 600'], exitCode: 143 },
    { what: '--init passes TERM on to a command that traps it', run: ['--init', '--', 'sh', '-c', `trap "exit 3" TERM; ${READY}`], exitCode: 3 },
    { what: 'no PID namespace: sleep is no init, SIGTERM\'s default action ends it', run: ['--no-ns', 'pid', '--', 'sh', '-c', 'echo ready; exec sleep 600'], exitCode: 143 },
  ];
  for (const c of cases) {
    test(c.what, async () => {
      const id = runDetached(sb, c.run);
      if (c.run.some((a) => a.includes('echo ready'))) await until(() => sb.run(['logs', id]).stdout.includes('ready'));
      const stop = sb.run(['stop', '-t', '600', id]);
      assert.equal(stop.status, 0, stop.stderr || String(stop.error));
      assert.equal(stop.stdout, `${id}\n`);
      const ended = containerState(sb, id);
      assert.deepEqual({ state: ended?.state, exitCode: ended?.exitCode }, { state: 'exited', exitCode: c.exitCode });
      assert.equal(sb.run(['rm', id]).status, 0);
    });
  }
});

test('rm tries every id: each missing one is reported, the others are removed, the exit is non-zero', () => {
  const made = ['a', 'b'].map((n) => {
    const r = sb.run(['run', '--keep', '--name', `rm-${n}`, '--', 'true']);
    assert.equal(r.status, 0, r.stderr);
    return n;
  });
  const r = sb.run(['rm', 'nosuch1', `rm-${made[0]}`, 'nosuch2', `rm-${made[1]}`]);
  assert.equal(r.status, 2);
  assert.deepEqual(r.stdout.trim().split('\n'), ['rm-a', 'rm-b']);
  assert.deepEqual(r.stderr.trim().split('\n'), ['locker: no container "nosuch1"; see locker ps for the ids', 'locker: no container "nosuch2"; see locker ps for the ids']);
  assert.deepEqual(ps().filter((c) => c.name.startsWith('rm-')), []);
});
