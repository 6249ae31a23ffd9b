// locker run -d, logs, attach, stop and rm of detached containers, with the real CLI and kernel:
// the CLI that started a container has exited while the container (owned by its monitor) runs on.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import * as pty from 'node-pty';
import { recover } from '../recovery';
import { descendants } from '../../testing/processes';
import { CLI, hostState, runAsUser, sandbox, startCli, until, userDataDir } from '../../testing/harness';

const sb = sandbox();
after(() => sb.cleanup());

const seq = (n: number): string => Array.from({ length: n }, (_, i) => `${i + 1}\n`).join('');

/** Monitor processes started for containers of this data dir. */
function monitorsOf(dataDir: string): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((pid) => {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return argv[0].endsWith('locker-monitor') && argv.some((a) => a.includes(dataDir));
    } catch {
      return false;
    }
  }).map(Number);
}

const readOr = (path: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return ''; // ended meanwhile
  }
};
const cgroupOf = (pid: string): string => readOr(`/proc/${pid}/cgroup`);
const describeProcess = (pid: string): string => `${pid} ${readOr(`/proc/${pid}/cmdline`).split('\0').join(' ').trim()} (${cgroupOf(pid).split('\n').find((l) => l.includes('locker')) ?? 'no locker cgroup'})`;

function parentComm(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const ppid = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
  return readFileSync(`/proc/${ppid}/comm`, 'utf8').trim();
}

const psLine = (name: string): string => sb.run(['ps', '-a']).stdout.split('\n').find((l) => l.includes(` ${name} `)) ?? '';
const runDetached = (args: string[]): string => {
  const r = sb.run(['run', '-d', ...args]);
  assert.equal(r.status, 0, r.stderr);
  const id = r.stdout.trim();
  assert.match(id, /^[0-9a-f]{12}$/);
  return id;
};

describe('locker run -d', () => {
  test('the container outlives its CLI: ps, exec, its monitor as parent; stop and rm leave nothing', async () => {
    const before = hostState(sb.dataDir);
    // run -d has returned (spawnSync) while its 60 s command runs on: no clock needed to see it did not wait.
    const id = runDetached(['--name', 'bg', '--', 'sh', '-c', 'echo up; exec sleep 60']);
    assert.match(psLine('bg'), /running/);
    const info = JSON.parse(sb.run(['ps', '--json']).stdout).find((c: { id: string }) => c.id === id);
    assert.equal(info.detached, true);
    assert.equal(parentComm(info.pid), 'locker-monitor');
    assert.equal(monitorsOf(sb.dataDir).length, 1);
    const dir = join(sb.dataDir, 'containers', id);
    assert.equal((readdirSync(dir).includes('attach.sock')), true);
    const ex = sb.run(['exec', 'bg', '--', 'sh', '-c', 'echo in-$$; cat /proc/1/cmdline | tr "\\0" " "']);
    assert.equal(ex.status, 0, ex.stderr);
    assert.match(ex.stdout, /in-\d+\nsleep 60/);

    const stop = sb.run(['stop', '-t', '1', 'bg']);
    assert.equal(stop.status, 0, stop.stderr);
    assert.match(psLine('bg'), /exited 137/); // sleep as PID 1 cannot get SIGTERM (no handler): killed at once
    await until(() => monitorsOf(sb.dataDir).length === 0, 10000);
    assert.equal(sb.run(['rm', 'bg']).status, 0);
    assert.equal(existsSync(dir), false);
    // Mounts of this data dir only: other tests on the machine mount and unmount meanwhile.
    // Processes: nothing new may be left; one that another test started before may have ended meanwhile.
    const ours = (h: ReturnType<typeof hostState>) => ({ ...h, mounts: h.mounts.filter((m) => m.includes(sb.dataDir)), children: [] });
    const after = hostState(sb.dataDir);
    assert.deepEqual(ours(after), ours(before));
    // Ours: a descendant of this test, or a process in the container's cgroup (an orphan of another
    // test file that runs beside this one is neither).
    const left = after.children.filter((c) => !before.children.includes(c)).filter((c) => descendants().includes(c) || cgroupOf(c).includes(id));
    assert.deepEqual(left.map(describeProcess), [], 'no process left');
  });

  test('logs after the CLI is gone: every byte, --tail, and the exit status', async () => {
    const id = runDetached(['--name', 'counter', '--', 'sh', '-c', 'seq 1 20000; exit 3']);
    await until(() => /exited 3/.test(psLine('counter')), 10000);
    const logs = sb.run(['logs', 'counter'], { timeoutMs: 20000 });
    assert.equal(logs.status, 0, logs.stderr);
    assert.equal(logs.stdout, seq(20000));
    assert.equal(sb.run(['logs', '--tail', '3', id]).stdout, '19998\n19999\n20000\n');
    assert.equal(sb.run(['logs', '-n', '0', id]).stdout, '');
    assert.match(sb.run(['logs', '--tail', 'many', id]).stderr, /--tail "many" is not a number of lines/);
    // The monitor writes the exit status, then drains and exits: on a loaded machine that can trail the status.
    await until(() => monitorsOf(sb.dataDir).length === 0, 10000);
    assert.equal(sb.run(['rm', 'counter']).status, 0);
  });

  test('logs -f follows new output and ends with the container', async () => {
    runDetached(['--name', 'ticker', '--', 'sh', '-c', 'echo one; sleep 1; echo two; sleep 1; echo three']);
    const follow = startCli(sb, ['logs', '-f', 'ticker']);
    await until(() => follow.output().includes('one'), 5000);
    assert.ok(!follow.output().includes('three'), 'printed before the container wrote it');
    const done = await follow.done;
    assert.equal(done.code, 0, done.err);
    assert.equal(done.out, 'one\ntwo\nthree\n');
    assert.equal(sb.run(['rm', 'ticker']).status, 0);
  });

  test('attach to a -t container: type a command, detach with Ctrl-P Ctrl-Q, come back, exit', async () => {
    runDetached(['-t', '--name', 'shell', '--hostname', 'bgbox', '--', '/bin/sh']);
    const attach = (): { term: pty.IPty; screen: () => string; exited: Promise<number> } => {
      const term = pty.spawn(CLI, ['attach', 'shell'], { cols: 100, rows: 30, env: sb.env as Record<string, string> });
      let screen = '';
      term.onData((d) => (screen += d));
      return { term, screen: () => screen, exited: new Promise((resolve) => term.onExit((e) => resolve(e.exitCode))) };
    };
    const first = attach();
    try {
      await until(() => first.screen().includes('Ctrl-P Ctrl-Q'), 5000);
      first.term.write('echo "hi-$((1+1))"; hostname; stty size\r');
      await until(() => /hi-2\r*\n/.test(first.screen()) && first.screen().includes('bgbox') && first.screen().includes('30 100'), 5000);
      first.term.write('\x10\x11');
      assert.equal(await first.exited, 0);
      assert.match(first.screen(), /detached from shell; it keeps running/);
    } finally {
      first.term.kill('SIGKILL');
    }
    assert.match(psLine('shell'), /running/);

    const second = attach();
    try {
      await until(() => second.screen().includes('Ctrl-P Ctrl-Q'), 5000);
      second.term.write('exit 4\r');
      assert.equal(await second.exited, 4);
    } finally {
      second.term.kill('SIGKILL');
    }
    await until(() => /exited 4/.test(psLine('shell')), 5000);
    assert.match(sb.run(['logs', 'shell']).stdout, /hi-2/);
    assert.equal(sb.run(['rm', 'shell']).status, 0);
  });

  test('a killed monitor takes its container with it; recovery records it and removes the socket', async () => {
    const id = runDetached(['--name', 'orphan', '--', 'sleep', '60']);
    const [monitor] = monitorsOf(sb.dataDir);
    const pid = JSON.parse(sb.run(['ps', '--json']).stdout).find((c: { id: string }) => c.id === id).pid;
    process.kill(monitor, 'SIGKILL');
    // Gone, or a zombie (an init that does not reap orphans, as in some sandboxes).
    const ended = (p: number): boolean => !existsSync(`/proc/${p}`) || /^\S+ \(.*\) Z /.test(readFileSync(`/proc/${p}/stat`, 'utf8'));
    await until(() => ended(pid) && ended(monitor), 15000);
    const dir = join(sb.dataDir, 'containers', id);
    assert.equal(existsSync(join(dir, 'attach.sock')), true, 'the killed monitor left its socket');
    // The crash recovery every Runtime runs at start: the record says how it ended, the socket goes.
    const report = await recover(sb.dataDir);
    assert.deepEqual(report.exited, [id]);
    assert.equal(existsSync(join(dir, 'attach.sock')), false);
    assert.equal(JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')).exitCode, 137);
    assert.match(psLine('orphan'), /exited 137/);
    assert.match(sb.run(['attach', 'orphan']).stderr, /has exited/);
    const cleanup = sb.run(['cleanup']);
    assert.equal(cleanup.status, 0, cleanup.stderr);
    assert.match(cleanup.stdout, new RegExp(`removed container ${id}`));
    assert.equal(existsSync(dir), false);
  });

  test('bad use: logs and attach of a container that was not detached, logs without an id', () => {
    const r = sb.run(['run', '--keep', '--name', 'fg', '--', 'true']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(sb.run(['logs', 'fg']).stderr, /^locker: container fg was not started with -d/);
    assert.match(sb.run(['attach', 'fg']).stderr, /^locker: container fg was not started with -d/);
    assert.match(sb.run(['logs']).stderr, /^locker: locker logs takes one container id/);
    assert.match(sb.run(['equivalent', '-d', '--name', 'x', '--', 'sh']).stdout, /^docker run -d --name x /m);
    assert.match(sb.run(['equivalent', '-d', '-t', '--', 'sh']).stdout, /^docker run -d -t /m);
    assert.equal(sb.run(['rm', 'fg']).status, 0);
  });
});

describe('rootless locker run -d', () => {
  const data = userDataDir();
  after(() => rmSync(data, { recursive: true, force: true }));

  test('outlives its CLI, logs, exit status, stop and rm, nothing left', async () => {
    const r = runAsUser(data, ['run', '-d', '--name', 'ubg', '--', 'sh', '-c', 'id -u; echo started; exec sleep 60']);
    assert.equal(r.status, 0, r.stderr);
    const id = r.stdout.trim();
    await until(() => runAsUser(data, ['logs', 'ubg']).stdout === '0\nstarted\n', 5000);
    assert.match(runAsUser(data, ['ps']).stdout, /ubg\s+running/);
    const ex = runAsUser(data, ['exec', 'ubg', '--', 'echo', 'inside']);
    assert.equal(ex.stdout, 'inside\n', ex.stderr);
    assert.equal(runAsUser(data, ['stop', '-t', '0', 'ubg']).status, 0);
    assert.match(runAsUser(data, ['ps', '-a']).stdout, /ubg\s+exited 137/);
    assert.deepEqual(monitorsOf(data), []);
    assert.equal(runAsUser(data, ['rm', 'ubg']).status, 0);
    assert.equal(existsSync(join(data, 'containers', id)), false);

    const code = runAsUser(data, ['run', '-d', '--name', 'u3', '--', 'sh', '-c', 'sleep 1; exit 3']);
    assert.equal(code.status, 0, code.stderr);
    await until(() => /u3\s+exited 3/.test(runAsUser(data, ['ps', '-a']).stdout), 10000);
    assert.equal(runAsUser(data, ['rm', 'u3']).status, 0);
  });
});
